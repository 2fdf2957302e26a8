"""The GPU check: training (fp32 / bf16, uncached / cached), inference at 518x518 and peak
CUDA memory of a config at its paper sizes, in one call of a few minutes.

``python tools/analysis_tools/gpu_check.py [CONFIG] [--out FILE.json] [--steps N]
[--warmup N] [--dry-run]``

CONFIG defaults to ``configs/tr2m_da_s.py`` (the paper's setting). Training runs at batch 8 x
476x644 (NYUv2), inference at 518x518; peak memory is compared with a 24 GiB card (the paper's
RTX 4090). ``--dry-run`` runs the same code on CPU at tiny sizes, one step (a check of the
script, not a measurement). The result is printed and written as JSON to ``--out`` (default
``work_dirs/gpu_check.json``). ``tr2m.analysis.gpu_check`` documents each figure.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tr2m.utils import cli  # noqa: E402

DEFAULT_CONFIG = 'configs/tr2m_da_s.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--out', default='work_dirs/gpu_check.json')
    parser.add_argument('--steps', type=int, default=5, help='timed calls per figure')
    parser.add_argument('--warmup', type=int, default=2, help='untimed calls before them')
    parser.add_argument('--device', default=None, help="default: 'cuda' ('cpu' with --dry-run)")
    parser.add_argument('--dry-run', action='store_true',
                        help='the same code on CPU at tiny sizes, one step')
    parser.add_argument('--pretrained', action='store_true',
                        help='load pretrained weights (default: TR2M_RANDOM_INIT=1)')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        parser.error('--steps must be >= 1 and --warmup >= 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    from tr2m.analysis.gpu_check import format_gpu_report, gpu_check
    from tr2m.utils.errors import MissingFileError

    if not osp.isfile(args.config):
        raise MissingFileError(f'config {args.config} does not exist')
    result = gpu_check(args.config, args.dry_run, args.steps, args.warmup, args.device,
                       args.pretrained)
    print(format_gpu_report(result))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'written to {args.out}')
    return result


if __name__ == '__main__':
    cli.run(main)
