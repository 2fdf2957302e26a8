"""Cached training step and neck at several input sizes, per attention implementation.

``python tools/analysis_tools/neck_benchmark.py CONFIG [--shapes H W [H W ...]] [--batch-size N]
[--attentions explicit sdpa] [--steps N] [--rounds N] [--threads N] [--json]``

One fresh subprocess per round runs every (size, implementation) with the frozen outputs held in
memory (what a feature-cache read gives); rows are printed as they are measured: CPU time of a
training step, peak RSS increase of the step and of the neck's forward + backward alone, and how
each grows from the first size to the last against the pixel count (``tr2m.analysis.neck_bench``
documents the method).
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tr2m.utils import cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--shapes', nargs='+', type=int, default=[266, 350, 518, 686],
                        help='H W pairs (default: 266 350 518 686)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--attentions', nargs='+', choices=('explicit', 'sdpa'),
                        default=['explicit', 'sdpa'])
    parser.add_argument('--steps', type=int, default=2, help='timed steps after one warm-up')
    parser.add_argument('--rounds', type=int, default=1, help='repeats of the whole grid')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--json', action='store_true')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    if len(args.shapes) % 2 or not args.shapes:
        parser.error('--shapes takes H W pairs')
    if min(args.batch_size, args.steps, args.rounds, args.threads) < 1:
        parser.error('--batch-size, --steps, --rounds and --threads must be >= 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    from tr2m.analysis.neck_bench import format_neck_report, neck_benchmark
    from tr2m.utils.errors import MissingFileError
    from tr2m.utils.hardware import describe_device

    if not osp.isfile(args.config):
        raise MissingFileError(f'config {args.config} does not exist')
    os.environ.setdefault('TR2M_RANDOM_INIT', '1')
    shapes = [tuple(args.shapes[i:i + 2]) for i in range(0, len(args.shapes), 2)]
    result = neck_benchmark(args.config, shapes, args.batch_size, args.attentions, args.steps,
                            args.threads, args.rounds, log=sys.stdout)
    result['hardware'] = describe_device('cpu')
    print(format_neck_report(result, result['hardware']))
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == '__main__':
    cli.run(main)
