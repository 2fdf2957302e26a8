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
import hashlib
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

from mmengine.config import DictAction  # noqa: E402
from mmengine.dist import is_main_process  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from tr2m.apis.data_check import check_datasets  # noqa: E402
from tr2m.apis.inference import (  # noqa: E402
    check_checkpoint,
    init_depther,
    is_none_checkpoint,
    untrained_reason,
)
from tr2m.evaluation.functional import METRIC_KEYS  # noqa: E402
from tr2m.models.tta import FLIP_MERGES, wrap_flip_tta  # noqa: E402
from tr2m.utils import cli, register_all_modules  # noqa: E402
from tr2m.utils.config import load_config  # noqa: E402
from tr2m.utils.dist import distributed  # noqa: E402
from tr2m.utils.errors import ArgumentError, CheckpointError  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a tr2m depther')
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
    if args.compare and not args.show_dir:
        raise ArgumentError('--compare draws pictures: give --show-dir DIR too')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def format_table(metrics: dict) -> str:
    """One row per dataset prefix ('' = all), one column per metric."""
    rows = {}
    for key, value in metrics.items():
        prefix, _, name = key.rpartition('/')
        if name in METRIC_KEYS:
            rows.setdefault(prefix or 'all', {})[name] = value
    width = max([len(r) for r in rows] + [7])
    lines = ['dataset'.ljust(width) + ''.join(f'{k:>10}' for k in METRIC_KEYS)]
    for name, vals in sorted(rows.items(), key=lambda kv: (kv[0] != 'all', kv[0])):
        lines.append(name.ljust(width) + ''.join(
            f'{vals[k]:>10.4f}' if k in vals else f'{"-":>10}' for k in METRIC_KEYS))
    return '\n'.join(lines)


def per_dataset(metrics: dict, protocol: dict, config_hash: str) -> dict:
    """``{dataset: {metrics: {...}, protocol: {..., config_hash}}}``: each result beside the
    protocol that produced it. With one dataset the metric keys carry no prefix."""
    out = {}
    for name, proto in protocol.items():
        prefix = f'{name}/' if len(protocol) > 1 else ''
        vals = {k: metrics[prefix + k] for k in METRIC_KEYS if prefix + k in metrics}
        out[name] = dict(metrics=vals, protocol=dict(proto, config_hash=config_hash))
    return out


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
    if not existed:
        os.remove(path)


def write_results(args, cfg, runner, metrics: dict) -> None:
    """The metrics JSON of ``--out`` (rank 0 only: the metric's protocol summary lives there)."""
    protocol = {}
    for metric in runner.test_evaluator.metrics:
        if hasattr(metric, 'protocol_summary'):
            protocol.update(metric.protocol_summary())
    for entry in protocol.values():  # what ran, also when nothing was augmented
        entry.setdefault('tta', 'none')
    config_hash = hashlib.sha1(cfg.pretty_text.encode()).hexdigest()[:12]
    result = dict(config=args.config, checkpoint=args.checkpoint, config_hash=config_hash,
                  metrics=metrics, protocol=protocol,
                  datasets=per_dataset(metrics, protocol, config_hash))
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2, default=float)
    print(f'metrics and protocol written to {args.out}')


def check_inputs(args, cfg) -> None:
    """Checkpoint(s) and test datasets, before any model is built (one error each)."""
    check_checkpoint(args.checkpoint)
    if args.compare:
        load_config(args.compare[0])
        check_checkpoint(args.compare[1])
    check_datasets(cfg, ('test',))


def apply_flip_test(cfg, merge: str) -> None:
    """Wrap the config's model in ``DepthTTAModel`` (horizontal flip, ``merge`` rule)."""
    cfg.model = dict(type='DepthTTAModel', module=cfg.model, merge=merge)


def add_show_hook(runner, args) -> None:
    """``--show-dir`` (and ``--compare``): the panels hook, warning about an untrained model."""
    from tr2m.engine.hooks import DepthVisualizationHook

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


def load_weights(runner) -> None:
    """Load the checkpoint now, a checkpoint of another model as one line (exit code 2)."""
    try:
        runner.load_or_resume()
    except RuntimeError as err:
        if 'does not fit' in str(err) and not isinstance(err, CheckpointError):
            raise CheckpointError(f'checkpoint {runner._load_from}: {err}') from err
        raise


def main(argv=None):
    args = parse_args(argv)
    if args.out:
        check_out_path(args.out)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    check_inputs(args, cfg)
    cfg.load_from = None if is_none_checkpoint(args.checkpoint) else args.checkpoint
    cfg.resume = False
    if args.flip_test:
        apply_flip_test(cfg, args.flip_merge)
    with distributed(cfg):  # the process group for --launcher, started before the runner
        runner = Runner.from_cfg(cfg)
        if args.show_dir:
            add_show_hook(runner, args)
        load_weights(runner)
        metrics = runner.test()
        if is_main_process():
            print(format_table(metrics))
            if args.out:
                write_results(args, cfg, runner, metrics)


if __name__ == '__main__':
    cli.run(main)
