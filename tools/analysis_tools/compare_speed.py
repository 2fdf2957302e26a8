"""Configs against each other in one process: inference at ``--infer-shape`` (and the first
config's relative-depth model alone) and a training step, interleaved call by call.

``python tools/analysis_tools/compare_speed.py CONFIG [CONFIG ...] [--infer-shape H W]
[--train-shape H W] [--batch-size N] [--rounds N] [--warmup N] [--threads N]
[--sections infer train] [--device cpu|cuda] [--json]``

Random weights (``TR2M_RANDOM_INIT=1`` unless set), the same seed for every model, captions
precomputed once; medians of ``--rounds`` calls after ``--warmup``, wall and process CPU time
(on a shared machine the CPU figure is the steadier). E.g. the shared-token variant against
the paper config (docs/user_guides/speed.md, "Shared tokens")::

    OMP_NUM_THREADS=1 python tools/analysis_tools/compare_speed.py configs/tr2m_da_s.py \\
        configs/tr2m/tr2m_da_s_shared_tokens.py --threads 1 --device cpu

JSON (``--json``, the last line): the keys of :func:`tr2m.analysis.variant_speed.compare_speed`.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tr2m.utils import cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Inference and training-step time of configs side by side',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('configs', nargs='+', help='config files (the first is the reference)')
    parser.add_argument('--infer-shape', nargs=2, type=int, default=(518, 518),
                        metavar=('H', 'W'))
    parser.add_argument('--train-shape', nargs=2, type=int, default=(266, 350),
                        metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=2, help='training batch')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int)
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    parser.add_argument('--sections', nargs='+', choices=('infer', 'train'),
                        default=['infer', 'train'])
    parser.add_argument('--json', action='store_true', help='end with one JSON object')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0 or args.batch_size < 1:
        parser.error('--rounds and --batch-size must be >= 1 and --warmup >= 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    from tr2m.analysis.variant_speed import compare_speed, format_speed
    from tr2m.utils.errors import ArgumentError

    if args.device == 'cuda':
        import torch

        if not torch.cuda.is_available():
            raise ArgumentError('--device cuda: no CUDA device')
    result = compare_speed(args.configs, tuple(args.infer_shape), tuple(args.train_shape),
                           args.batch_size, args.rounds, args.warmup, args.device,
                           args.sections, args.threads)
    print(format_speed(result))
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == '__main__':
    cli.run(main)
