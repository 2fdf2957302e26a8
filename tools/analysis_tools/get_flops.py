"""FLOPs per module of a depther for a given input: where the cost is, before training.

``python tools/analysis_tools/get_flops.py CONFIG --shape H W [--batch-size N]
[--mode tensor|train] [--depth N] [--json] [--pretrained] [--cfg-options k=v ...]``

The model is built from its architecture presets with random weights (``TR2M_RANDOM_INIT=1``
unless ``--pretrained``; FLOPs do not depend on the weights) and run once on CPU on a random
batch (images, GT, a caption each) under ``torch.utils.flop_counter.FlopCounterMode``, which
attributes the FLOPs of every matrix product, convolution and attention to the module
hierarchy (``F.scaled_dot_product_attention`` included on CPU too, where FlopCounterMode
alone counts it 0: ``tr2m.analysis.flops``). ``--mode tensor``: the inference forward;
``--mode train``: a training step's forward (per module) and backward of the losses' sum (one
``(backward)`` row: the counter's per-module attribution of backward ops is unreliable, its
total is not), without the optimizer.

Convention: a multiply-add counts 2 FLOPs (FlopCounterMode's); attention counts
``4 B H N M d`` forward (``Q K^T`` and ``P V``); elementwise ops, norms, resizes
and softmax are not counted, so the figures are a lower bound dominated by what dominates
time on accelerators. Rows are the modules ``--depth`` levels down (1: the depther's children),
each marked frozen (no trainable parameter, or a pretrained-capable frozen component),
trainable, mixed or ``-`` (no parameters); ``(self)`` is what runs outside them, so the rows
sum to the total (``frozen_flops``/``trainable_flops`` count forward rows only).

JSON (``--json``, the last line): ``config shape batch_size mode depth total_flops
frozen_flops trainable_flops modules {name: {flops share kind}}``.
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import OrderedDict

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import DictAction  # noqa: E402

from tr2m.analysis.flops import MODES, count_flops, module_kind, module_rows  # noqa: E402,F401


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='FLOPs per module of a tr2m depther',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', nargs=2, type=int, required=True, metavar=('H', 'W'),
                        help='network input size')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--mode', choices=MODES, default='tensor',
                        help="'tensor': inference forward; 'train': forward + backward")
    parser.add_argument('--depth', type=int, default=1, help='module levels shown')
    parser.add_argument('--pretrained', action='store_true',
                        help='do not set TR2M_RANDOM_INIT=1')
    parser.add_argument('--json', action='store_true', help='end with one JSON object')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    args = parser.parse_args(argv)
    if args.depth < 1 or args.batch_size < 1 or min(args.shape) < 1:
        parser.error('--depth, --batch-size and --shape must be positive')
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.registry import DefaultScope

    from tr2m.analysis.benchmark import make_batch
    from tr2m.models.pretrained import RANDOM_INIT_ENV
    from tr2m.registry import MODELS
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    if not args.pretrained:
        os.environ.setdefault(RANDOM_INIT_ENV, '1')
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    torch.manual_seed((cfg.get('randomness') or {}).get('seed') or 0)
    with DefaultScope.overwrite_default_scope('tr2m'):
        model = MODELS.build(cfg.model.to_dict())
    data = make_batch(args.batch_size, tuple(args.shape))
    result = OrderedDict(config=args.config, shape=list(args.shape), batch_size=args.batch_size,
                         mode=args.mode, depth=args.depth)
    result.update(count_flops(model, data, args.mode, args.depth))
    g = 1e9
    print(f"{args.config}: {args.mode} at {tuple(args.shape)}, batch {args.batch_size}: "
          f"{result['total_flops'] / g:.2f} GFLOPs (frozen {result['frozen_flops'] / g:.2f}, "
          f"trainable {result['trainable_flops'] / g:.2f}; 2 FLOPs per multiply-add)")
    for name, r in result['modules'].items():
        print(f"  {name:<40} {r['flops'] / g:12.3f} GFLOPs  {r['share']:6.3f}  {r['kind']}")
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == '__main__':
    main()
