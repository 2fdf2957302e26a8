"""Export a TR2M depther to ONNX and check it against PyTorch with onnxruntime.

``python tools/deploy/export_onnx.py (CONFIG CKPT | --model REPO_ID_OR_DIR) --out FILE.onnx
[--part full|trainable] [--img IMAGE] [--text "..."] [--static] [--opset N]
[--benchmark N [--threads T]]``

``--part full`` (default) is the whole inference graph: inputs ``image`` (B, 3, H, W) in [0, 1]
at the network input size (the model's inference pipeline, e.g. its ``Resize``, runs before) and
``text_embedding`` (B, D'), the caption's pooled embedding by the model's text encoder; outputs
``depth``, ``scale``, ``shift``, ``rel``. ``--part trainable`` takes precomputed ``rel`` and
``image_features`` instead of the image (the neck, heads and ``1/(A*Dr+B)`` only). Height,
width and batch are dynamic unless ``--static``, when a second size checks out against PyTorch.
The example input is ``--img`` through the model's inference pipeline (default: a grey
480x640 image) with ``--text``. ``--benchmark N`` times PyTorch and onnxruntime side by side (N
interleaved runs each on ``--threads`` threads, median). The report (max differences, sizes,
timings) is printed and written to ``FILE.json``.
"""
import argparse
import json
import os.path as osp
from typing import List, Optional

from tr2m.utils import cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(
        prog='tr2m export', description='Export a TR2M depther to ONNX (checked with '
        'onnxruntime)', formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 2)[2])
    parser.add_argument('config', nargs='?', help='config file (or --model)')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file')
    parser.add_argument('--model', metavar='REPO_ID_OR_DIR', help='a published model instead')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--part', choices=('full', 'trainable'), default='full')
    parser.add_argument('--img', help='example image (default: grey 480x640)')
    parser.add_argument('--text', default='An image.', help='example caption')
    parser.add_argument('--static', action='store_true', help='fixed batch and image size')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--benchmark', type=int, default=0, metavar='N',
                        help='time PyTorch and onnxruntime N times each, side by side')
    parser.add_argument('--threads', type=int, default=1, help='threads of the benchmark')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    if args.model and (args.config or args.checkpoint):
        parser.error('--model replaces CONFIG CKPT')
    if not args.model and not (args.config and args.checkpoint):
        parser.error('give CONFIG CKPT, or --model REPO_ID_OR_DIR')
    if not args.out.endswith('.onnx'):
        parser.error(f'--out {args.out}: the file must end in .onnx')
    return args


def load_model(args):
    """The model (checked before the build, as ``tools/infer.py`` does)."""
    from tr2m.apis.hub import from_pretrained
    from tr2m.apis.infer_outputs import check_untrained_early
    from tr2m.apis.inference import check_checkpoint, init_depther
    from tr2m.utils.config import load_config

    if args.model:
        return from_pretrained(args.model)
    check_untrained_early(load_config(args.config, args.cfg_options), args.checkpoint, False)
    check_checkpoint(args.checkpoint)
    return init_depther(args.config, args.checkpoint, cfg_options=args.cfg_options or None)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    import numpy as np

    from tr2m.apis.inference import _pack
    from tr2m.datasets.depth_io import read_rgb
    from tr2m.deploy.onnx import compare_speed, example_inputs, export_onnx

    image = read_rgb(args.img) if args.img else np.full((480, 640, 3), 128, np.uint8)
    model = load_model(args)
    packed, _, _ = _pack(model, image, args.text, None, None)
    tensor = packed['inputs'][None].float() / 255.0  # (1, 3, h, w), the network input
    report = export_onnx(model, args.out, tensor, [args.text], args.part,
                         dynamic=not args.static, opset=args.opset)
    diff = report['max_difference']
    print(f'{args.out}: {args.part} graph, inputs {report["inputs"]}, dynamic size '
          f'{report["dynamic"]}; onnxruntime vs PyTorch: depth max |diff| '
          f'{diff["depth_abs"]:.3g} (relative {diff["depth_rel"]:.3g})')
    if args.benchmark:
        speed = compare_speed(model, args.out, example_inputs(model, args.part, tensor,
                                                              [args.text]),
                              args.part, args.benchmark, args.threads)
        report['speed'] = speed
        print(f'speed ({args.threads} thread(s), median of {args.benchmark}): PyTorch '
              f'{speed["torch"]["wall_s"] * 1e3:.1f} ms, onnxruntime '
              f'{speed["onnxruntime"]["wall_s"] * 1e3:.1f} ms wall '
              f'(x{speed["speedup_wall"]:.2f})')
    with open(osp.splitext(args.out)[0] + '.json', 'w') as f:
        json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':
    cli.run(main, prog='tr2m export')
