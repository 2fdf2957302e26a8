"""Evaluate a depther: ``python tools/test.py CONFIG CKPT [--out metrics.json] [--show-dir DIR]``.

``CKPT`` may be ``none`` for models with nothing trained (relative-depth baselines with
evaluation-time alignment, or an untrained model as a reference point; its pictures say so).

Before anything is built, the config, the checkpoint, the ``--out`` path and every test dataset
are checked; a mistake ends in one line and exit code 2 (``--debug`` shows the traceback).

- ``--show-dir DIR``: the panels of every test image (image | GT | prediction | AbsRel error |
  scale A | shift B, colour bars in the protocol's unit, caption and metrics) as PNGs.
- ``--compare CONFIG2 CKPT2`` (with ``--show-dir``): the two models side by side on the same
  images instead (one colour scale; GT and each model's error and metrics).
- ``--flip-test``: horizontal-flip test-time augmentation (``DepthTTAModel``; ``--flip-merge
  mean`` as ZoeDepth, ``border_blend`` as NeWCRFs); ``--out`` records ``tta`` and
  ``tta_merge`` in each dataset's protocol (``tta: none`` without it).

Several processes: ``bash tools/dist_test.sh CONFIG CKPT NPROC [args]``; every image is evaluated
once, and ``--out`` / the table come from rank 0.
"""
import argparse
import contextlib
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

# Only light imports here: --help, argument errors and config-key errors answer before torch,
# mmengine's runner and the models are imported (each function imports what it needs).
from tr2m.utils import cli  # noqa: E402
from tr2m.utils.cli import DictAction  # noqa: E402
from tr2m.utils.errors import ArgumentError  # noqa: E402
from tr2m.utils.files import check_checkpoint_exists, check_writable_dir  # noqa: E402

#: ``--flip-merge`` rules (``tr2m.models.tta.FLIP_MERGES``, checked against it when used).
FLIP_MERGES = ('mean', 'border_blend')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test a tr2m depther',
        epilog=cli.code_execution_note('CONFIG (with its _base_ files, and --compare\'s '
                                       'CONFIG2) is'))
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none'")
    parser.add_argument('--work-dir', help='where logs go (default: work_dirs/<config name>)')
    parser.add_argument('--out', help='write metrics and the protocol used to this JSON file')
    parser.add_argument('--show-dir', help='write the depth panels of every test image here')
    parser.add_argument('--compare', nargs=2, metavar=('CONFIG2', 'CKPT2'),
                        help='with --show-dir: draw this second model beside the first')
    parser.add_argument('--flip-test', '--tta', action='store_true', dest='flip_test',
                        help='horizontal-flip test-time augmentation (DepthTTAModel)')
    parser.add_argument('--flip-merge', choices=FLIP_MERGES, default='mean',
                        help="how --flip-test merges: 'mean' (ZoeDepth) or 'border_blend' "
                        '(NeWCRFs)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    if args.flip_test:
        from tr2m.models.tta import FLIP_MERGES as merges

        if args.flip_merge not in merges:  # the parser's copy fell behind the package's
            raise ArgumentError(f'--flip-merge {args.flip_merge}: one of {merges}')
    if args.compare and not args.show_dir:
        raise ArgumentError('--compare draws pictures: give --show-dir DIR too')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def check_out_path(path: str) -> None:
    """Fail before the evaluation when ``--out`` cannot be written."""
    folder = osp.dirname(osp.abspath(path))
    if osp.exists(folder) and not osp.isdir(folder):
        raise ArgumentError(f'--out {path}: {folder} is a file, not a folder')
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise ArgumentError(f'--out {path}: cannot create its folder {folder}: '
                            f'{err.strerror or err}') from None
    existed = osp.exists(path)
    try:
        with open(path, 'a'):  # the real test, whatever the permissions say
            pass
    except OSError as err:
        raise ArgumentError(f'--out {path}: cannot write there: {err.strerror or err}') from None
    if not existed:  # another rank of a distributed test may have removed it already
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def check_compare(args) -> None:
    """``--compare``'s config and checkpoint, before any model is built (one error each)."""
    from tr2m.apis.inference import check_checkpoint
    from tr2m.utils.config import load_config

    if args.compare:
        load_config(args.compare[0])
        check_checkpoint(args.compare[1])


def apply_flip_test(cfg, merge: str) -> None:
    """Wrap the config's model in ``DepthTTAModel`` (horizontal flip, ``merge`` rule)."""
    cfg.model = dict(type='DepthTTAModel', module=cfg.model, merge=merge)


def add_show_hook(runner, args) -> None:
    """``--show-dir`` (and ``--compare``): the panels hook, warning about an untrained model."""
    from tr2m.apis.inference import init_depther, untrained_reason
    from tr2m.engine.hooks import DepthVisualizationHook
    from tr2m.models.tta import wrap_flip_tta

    warnings = [w for w in [untrained_reason(runner.model, args.checkpoint)] if w]
    compare, names = None, ('model', 'compared')
    if args.compare:
        compare = init_depther(args.compare[0], args.compare[1],
                               device=next(runner.model.parameters()).device)
        if args.flip_test:  # the same test for both
            compare = wrap_flip_tta(compare, args.flip_merge)
        warnings += [w for w in [untrained_reason(compare, args.compare[1])] if w]
        names = tuple(osp.splitext(osp.basename(c))[0] for c in (args.config, args.compare[0]))
        if names[0] == names[1]:
            names = (f'{names[0]} ({osp.basename(args.checkpoint)})',
                     f'{names[1]} ({osp.basename(args.compare[1])})')
    runner.register_hook(DepthVisualizationHook(out_dir=args.show_dir, compare_model=compare,
                                                names=names, warnings=warnings))


def main(argv=None):
    args = parse_args(argv)
    check_checkpoint_exists(args.checkpoint)  # a typo in the path: before anything is imported
    if args.out:
        check_out_path(args.out)
    if args.show_dir:
        check_writable_dir(args.show_dir, '--show-dir')
    from tr2m.utils.config import load_config

    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    from tr2m.apis.runs import format_table, test_config, test_result
    from tr2m.cache import apply_feature_cache

    apply_feature_cache(cfg)  # frozen outputs read from the feature cache (when configured)
    check_compare(args)
    if args.flip_test:
        apply_flip_test(cfg, args.flip_merge)
    outcome = test_config(cfg, args.checkpoint,  # checkpoint and data checked first
                          setup=(lambda runner: add_show_hook(runner, args))
                          if args.show_dir else None)
    if outcome.main_process:  # rank 0 holds the metric's protocol summary
        print(format_table(outcome.metrics))
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(test_result(args.config, args.checkpoint, cfg, outcome), f, indent=2,
                          default=float)
            print(f'metrics and protocol written to {args.out}')


if __name__ == '__main__':
    cli.run(main)
