"""Compute the frozen models' outputs once, for every training and test sample of a config.

``python tools/cache_features.py CONFIG [--out ROOT] [--dtype float16|int8] [--batch-size N]
[--text-batch-size N] [--device cpu|cuda] [--loaders train val test] [--text-tokens]
[--dry-run] [--no-progress] [--cfg-options k=v ...]``

For each dataset of the config's train / val / test loaders it stores, memory-mapped under
``ROOT/<part id>/``: the relative inverse depth ``Dr`` and the image tokens of every sample in
every view (``RandomFlip`` is a second view), and the embedding of every distinct caption.
Before writing it prints each part's size and the disk it still needs, and refuses when the
disk is short. An interrupted run resumes where it stopped (rerun the same command).

Then train with ``cache=dict(root=ROOT)`` in the config (e.g. ``configs/cache/*.py``): the
frozen models are never built. Keys, supported augmentations (deterministic resizes and crops,
``RandomFlip``; ``RandomCrop`` is refused) and what makes a config mismatch the cache:
``tr2m/cache/keys.py``. File format and quantisation bounds: ``tr2m/cache/store.py``.

ROOT defaults to the config's ``cache.root``, else ``work_dirs/cache/<config name>``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

from mmengine.config import DictAction  # noqa: E402

from tr2m.utils import cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Cache the frozen models\' outputs of a tr2m config',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 2)[2])
    parser.add_argument('config', help='config file')
    parser.add_argument('--out', help='cache root (default: cache.root of the config, else '
                        'work_dirs/cache/<config name>)')
    parser.add_argument('--dtype', choices=('float16', 'int8'),
                        help='image-token storage (default: cache.dtype, else float16)')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='samples per frozen-model batch (fixed once a part is started)')
    parser.add_argument('--text-batch-size', type=int, default=256, help='captions per batch')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda', 'cuda:1'")
    parser.add_argument('--loaders', nargs='+', choices=('train', 'val', 'test'),
                        default=['train', 'val', 'test'], help='which dataloaders to cache')
    parser.add_argument('--text-tokens', action='store_true', default=None,
                        help="also store per-token caption states (default: when the neck "
                        "uses text_tokens='all')")
    parser.add_argument('--dry-run', action='store_true',
                        help='print the plan and the disk it needs; write nothing')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    cli.add_debug_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from tr2m.cache import build_feature_cache
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)  # as written, not in cache mode
    return build_feature_cache(
        cfg, root=args.out, dtype=args.dtype, batch_size=args.batch_size,
        text_batch_size=args.text_batch_size, device=args.device,
        loaders=[f'{n}_dataloader' for n in args.loaders], text_tokens=args.text_tokens,
        progress=not args.no_progress, dry_run=args.dry_run)


if __name__ == '__main__':
    cli.run(main)  # a user mistake or a full disk: one line, exit code 2
