"""Write the procedural multi-domain RGB-D demo set (default folder: data/synthetic)."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tr2m.datasets.synthetic import generate_synthetic_rgbd  # noqa: E402
from tr2m.utils import cli  # noqa: E402
from tr2m.utils.errors import ArgumentError  # noqa: E402
from tr2m.utils.files import check_writable_dir  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('out', nargs='?', default='data/synthetic', help='output folder')
    parser.add_argument('--train', type=int, default=48, help='training frames per domain')
    parser.add_argument('--test', type=int, default=12, help='test frames per domain')
    parser.add_argument('--overwrite', action='store_true', help='regenerate existing files')
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    for flag in ('train', 'test'):
        if getattr(args, flag) < 0:
            raise ArgumentError(f'--{flag} {getattr(args, flag)}: the number of frames per '
                                'domain cannot be negative')
    check_writable_dir(args.out, 'output folder')  # before the first frame is rendered
    generate_synthetic_rgbd(args.out, dict(train=args.train, test=args.test),
                            overwrite=args.overwrite)
    print(f'synthetic RGB-D set in {args.out} (train.json, test.json)')


if __name__ == '__main__':
    cli.run(main)
