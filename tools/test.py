"""Evaluate a depther: ``python tools/test.py CONFIG CKPT [--out metrics.json] [--show-dir DIR]``.

``CKPT`` may be ``none`` for models with nothing trained (relative-depth baselines with
evaluation-time alignment, or an untrained model as a reference point).

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

from tr2m.evaluation.functional import METRIC_KEYS  # noqa: E402
from tr2m.utils import register_all_modules  # noqa: E402
from tr2m.utils.config import load_config  # noqa: E402
from tr2m.utils.dist import distributed  # noqa: E402
from tr2m.utils.errors import ArgumentError  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a tr2m depther')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none'")
    parser.add_argument('--work-dir', help='where logs go (default: work_dirs/<config name>)')
    parser.add_argument('--out', help='write metrics and the protocol used to this JSON file')
    parser.add_argument('--show-dir', help='save predicted depth images to this folder')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
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
    config_hash = hashlib.sha1(cfg.pretty_text.encode()).hexdigest()[:12]
    result = dict(config=args.config, checkpoint=args.checkpoint, config_hash=config_hash,
                  metrics=metrics, protocol=protocol,
                  datasets=per_dataset(metrics, protocol, config_hash))
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2, default=float)
    print(f'metrics and protocol written to {args.out}')


def main(argv=None):
    args = parse_args(argv)
    if args.out:
        check_out_path(args.out)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if args.checkpoint.lower() == 'none':
        cfg.load_from = None
    else:
        if not osp.isfile(args.checkpoint):
            raise SystemExit(f'checkpoint not found: {args.checkpoint}')
        cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.show_dir:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='DepthVisualizationHook', out_dir=args.show_dir)]
    with distributed(cfg):  # the process group for --launcher, started before the runner
        runner = Runner.from_cfg(cfg)
        metrics = runner.test()
        if is_main_process():
            print(format_table(metrics))
            if args.out:
                write_results(args, cfg, runner, metrics)


if __name__ == '__main__':
    main()
