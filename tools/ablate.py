"""Run an ablation grid: ``python tools/ablate.py GRID_FILE [--dry-run] [--work-dir ROOT]``.

A grid file is a Python file::

    base = 'configs/tr2m_da_s.py'          # relative to the current folder or to the grid file
    grid = {
        'model.loss_pseudo.rho': [0.8, 0.9, 0.95],
        'model.soc': [None, dict(type='ScaleOrientedContrast')],
        # labelled values: {label: value}; the label names the run
        'model.neck.text_tokens': {'pooled': 'pooled', 'all': 'all'},
    }
    mode = 'product'   # optional: 'product' (every combination, default) or 'zip' (i-th values)
    test = True        # optional: test each run's checkpoint after training (default True)
    options = {'train_cfg.max_epochs': 5}   # optional: overrides shared by every run

Keys are dotted config keys, checked strictly: an unknown key is an error naming the closest
existing keys (``tr2m.utils.config.check_keys_exist``), for every run, before anything trains.
A dict value merges into the existing dict (mmengine semantics); put ``_delete_=True`` in it to
replace the whole dict. ``--cfg-options`` adds overrides shared by every run, after ``options``.

Each run is named from its values (``rho=0.8__soc=none``; the last key component, or
more where two keys end alike; dicts by their ``type``, other values by a short hash), and lives
in ``ROOT/<grid file stem>/<run name>/`` (``ROOT`` defaults to ``work_dirs/ablations``):
``config.py`` (the merged config), the training outputs of ``tools/train.py`` (same code path,
called in-process), ``test/`` and ``metrics.json`` from ``tools/test.py`` on the run's last
checkpoint (``--ckpt best`` for the best one the config's checkpoint hook kept), and
``run.json``. A run whose ``run.json`` says it finished with the same config is reused, not
re-run (``--rerun`` forces it). A failing run is recorded and the grid goes on; the exit status
is 1 if any run failed.

``ROOT/<grid>/summary.json``: ``grid``, ``grid_file``, ``base``, ``mode``, ``test``, ``options``
and ``runs``: one entry per run with ``name``, ``overrides`` (key -> value), ``work_dir``,
``status`` (``'ok'``, ``'reused'``, ``'failed'``), ``checkpoint``, ``metrics`` (as
``tools/test.py --out`` writes them), ``protocol``, ``train_seconds``, ``test_seconds`` and
``error``. ``ROOT/<grid>/summary.md``: a markdown table of the runs, their values and metrics
(aggregate over all test images, then per dataset when there are several).
"""
import argparse
import copy
import gc
import glob
import hashlib
import itertools
import json
import os
import os.path as osp
import re
import runpy
import sys
import time
import traceback
from collections import OrderedDict
from typing import Any, Dict, List, Optional

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))  # run from a clone

from mmengine.config import Config, DictAction  # noqa: E402

from tr2m.evaluation.functional import METRIC_KEYS  # noqa: E402
from tr2m.utils import cli  # noqa: E402
from tr2m.utils.config import merge_options_strict  # noqa: E402

MODES = ('product', 'zip')
_UNSAFE = re.compile(r'[^A-Za-z0-9._=+-]+')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train (and test) every run of an ablation grid',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('grid_file', help='grid file (Python: base, grid[, mode, test, options])')
    parser.add_argument('--dry-run', action='store_true',
                        help='validate every key and print the runs; train nothing')
    parser.add_argument('--work-dir', default='work_dirs/ablations',
                        help='root folder; runs go to ROOT/<grid name>/<run name>')
    parser.add_argument('--ckpt', choices=('last', 'best'), default='last',
                        help="which checkpoint to test: the last one, or the best one kept by "
                        "the checkpoint hook's save_best (falls back to the last)")
    parser.add_argument('--rerun', action='store_true', help='re-run finished runs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='overrides shared by every run (key=value; unknown keys are errors)')
    cli.add_debug_argument(parser)
    return parser.parse_args(argv)


# ---- the grid file -------------------------------------------------------------------------
def _value_label(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float, str)):
        return str(value).lower() if value is None or isinstance(value, bool) else str(value)
    if isinstance(value, dict) and isinstance(value.get('type'), str):
        return value['type']
    if isinstance(value, (list, tuple)) and all(
            v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return '-'.join(_value_label(v) for v in value)
    return _short_hash(value)


def _short_hash(value: Any) -> str:
    return hashlib.sha1(repr(value).encode()).hexdigest()[:6]


def _labelled(key: str, values: Any, repeats: bool = False) -> List[tuple]:
    """``[(label, value), ...]`` of one grid entry (a list, or a dict ``{label: value}``).

    ``repeats`` (``mode='zip'``, where a column may hold one value in several rows) allows a
    value to occur more than once; otherwise every value must be distinct.
    """
    if isinstance(values, dict):
        pairs = [(str(k), v) for k, v in values.items()]
    elif isinstance(values, (list, tuple)):
        labels = [_value_label(v) for v in values]
        pairs = []
        for label, value in zip(labels, values):
            same_label = [v for lb, v in zip(labels, values) if lb == label]
            if any(repr(v) != repr(value) for v in same_label):  # e.g. two dicts of one type
                label = f'{label}-{_short_hash(value)}'
            pairs.append((label, value))
    else:
        raise ValueError(f'grid[{key!r}] must be a list of values or a dict {{label: value}}, '
                         f'got {type(values).__name__}')
    if not pairs:
        raise ValueError(f'grid[{key!r}] has no values')
    labels = [p[0] for p in pairs]
    if not repeats and len(set(labels)) != len(labels):
        raise ValueError(f'grid[{key!r}] has repeated values {labels}')
    return pairs


def _short_keys(keys: List[str]) -> Dict[str, str]:
    """The shortest dotted suffix of each key that no other key ends with."""
    short = {}
    for key in keys:
        parts = key.split('.')
        for n in range(1, len(parts) + 1):
            cand = '.'.join(parts[-n:])
            if not any(o != key and (o == cand or o.endswith('.' + cand)) for o in keys):
                break
        short[key] = cand
    return short


def load_grid(path: str) -> dict:
    """Read and check a grid file; returns ``base`` (resolved path), ``grid`` (key -> labelled
    values), ``mode``, ``test``, ``options`` and ``name``."""
    if not osp.isfile(path):
        raise SystemExit(f'grid file not found: {path}')
    ns = runpy.run_path(path)
    unknown = sorted(k for k in ns if not k.startswith('_') and k not in
                     ('base', 'grid', 'mode', 'test', 'options') and not callable(ns[k])
                     and not isinstance(ns[k], type(sys)))
    if unknown:
        raise SystemExit(f'grid file {path}: unknown top-level names {unknown}; expected base, '
                         'grid, mode, test, options')
    if not isinstance(ns.get('base'), str):
        raise SystemExit(f"grid file {path}: needs base = 'configs/....py'")
    base = ns['base']
    if not osp.isabs(base) and not osp.isfile(base):
        base = osp.join(osp.dirname(osp.abspath(path)), base)
    if not osp.isfile(base):
        raise SystemExit(f'grid file {path}: base config not found: {ns["base"]}')
    grid = ns.get('grid')
    if not isinstance(grid, dict) or not grid:
        raise SystemExit(f'grid file {path}: needs grid = dict(key=[values, ...], ...)')
    mode = ns.get('mode', 'product')
    if mode not in MODES:
        raise SystemExit(f'grid file {path}: mode must be one of {MODES}, got {mode!r}')
    test = ns.get('test', True)
    if not isinstance(test, bool):
        raise SystemExit(f'grid file {path}: test must be True or False, got {test!r}')
    options = ns.get('options') or {}
    if not isinstance(options, dict):
        raise SystemExit(f'grid file {path}: options must be a dict of dotted keys')
    try:
        entries = OrderedDict((str(k), _labelled(str(k), v, repeats=mode == 'zip'))
                              for k, v in grid.items())
    except ValueError as err:
        raise SystemExit(f'grid file {path}: {err}') from err
    return dict(base=base, grid=entries, mode=mode, test=test, options=dict(options),
                name=osp.splitext(osp.basename(path))[0])


def expand_runs(spec: dict) -> List[dict]:
    """The runs of a grid: ``[dict(name, overrides, labels), ...]`` in grid order."""
    keys = list(spec['grid'])
    columns = [spec['grid'][k] for k in keys]
    if spec['mode'] == 'product':
        combos = list(itertools.product(*columns))
    elif spec['mode'] == 'zip':
        lengths = {k: len(c) for k, c in zip(keys, columns)}
        if len(set(lengths.values())) != 1:
            raise SystemExit(f"mode='zip' needs lists of one length, got {lengths}")
        combos = list(zip(*columns))
    else:
        raise SystemExit(f"mode must be one of {MODES}, got {spec['mode']!r}")
    short = _short_keys(keys)
    runs, names = [], set()
    for combo in combos:
        name = '__'.join(f'{short[k]}={label}' for k, (label, _) in zip(keys, combo))
        name = _UNSAFE.sub('_', name)[:200]
        if name in names:
            raise SystemExit(f'grid gives the run {name!r} twice')
        names.add(name)
        runs.append(dict(name=name, overrides=OrderedDict((k, v) for k, (_, v) in
                                                          zip(keys, combo)),
                         labels=OrderedDict((k, label) for k, (label, _) in zip(keys, combo))))
    return runs


def run_config(spec: dict, run: dict, cli_options: dict) -> Config:
    """The merged config of one run: base, then ``options``, ``--cfg-options``, the run's
    values (each step strict)."""
    cfg = Config.fromfile(spec['base'])
    for what, opts in (('options', spec['options']), ('--cfg-options', cli_options),
                       (f'run {run["name"]}', run['overrides'])):
        try:
            merge_options_strict(cfg, copy.deepcopy(dict(opts)))
        except KeyError as err:
            raise SystemExit(f'{what}: {err.args[0] if err.args else err}') from err
    return cfg


# ---- running -------------------------------------------------------------------------------
def _load_tool(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f'tr2m_tools_{name}', osp.join(TOOLS, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _checkpoint(work_dir: str, which: str) -> Optional[str]:
    if which == 'best':
        best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')), key=osp.getmtime)
        if best:
            return best[-1]
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            path = f.read().strip()
        if osp.isfile(path):
            return path
        if osp.isfile(osp.join(work_dir, osp.basename(path))):
            return osp.join(work_dir, osp.basename(path))
    found = sorted(glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime)
    return found[-1] if found else None


def execute(spec: dict, run: dict, cfg: Config, run_dir: str, which_ckpt: str,
            rerun: bool) -> dict:
    """Train (and test) one run in ``run_dir``; returns its summary entry."""
    os.makedirs(run_dir, exist_ok=True)
    cfg.work_dir = run_dir
    config_hash = hashlib.sha1(cfg.pretty_text.encode()).hexdigest()[:12]
    record_file = osp.join(run_dir, 'run.json')
    if not rerun and osp.isfile(record_file):
        with open(record_file) as f:
            old = json.load(f)
        if old.get('status') in ('ok', 'reused') and old.get('config_hash') == config_hash \
                and old.get('test') == spec['test'] and old.get('ckpt') == which_ckpt:
            old['status'] = 'reused'
            return old
    stamp = f'{os.getpid()}_{time.time_ns() % 10**9}'
    experiment = f'{spec["name"]}__{run["name"]}'[:120]
    # unique runner names: mmengine keeps loggers / visualizers per name within a process
    cfg.experiment_name = f'{experiment}_{stamp}'
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer.name = f'{experiment}_{stamp}'
    config_file = osp.join(run_dir, 'config.py')
    cfg.dump(config_file)
    entry = dict(name=run['name'], overrides=_to_json(run['overrides']),
                 labels=dict(run['labels']), work_dir=run_dir, config=config_file,
                 config_hash=config_hash, test=spec['test'], ckpt=which_ckpt, status='failed',
                 checkpoint=None, metrics=None, protocol=None, train_seconds=None,
                 test_seconds=None, error=None)
    try:
        t0 = time.time()
        _load_tool('train.py').main([config_file, '--work-dir', run_dir])
        entry['train_seconds'] = round(time.time() - t0, 2)
        ckpt = _checkpoint(run_dir, which_ckpt)
        if ckpt is None:
            raise RuntimeError(f'training wrote no checkpoint in {run_dir}')
        entry['checkpoint'] = ckpt
        if spec['test']:
            t0 = time.time()
            out = osp.join(run_dir, 'metrics.json')
            _load_tool('test.py').main([
                config_file, ckpt, '--work-dir', osp.join(run_dir, 'test'), '--out', out,
                '--cfg-options', f'experiment_name={experiment}_test_{stamp}',
                *([f'visualizer.name={experiment}_test_{stamp}']
                  if isinstance(cfg.get('visualizer'), dict) else [])])
            entry['test_seconds'] = round(time.time() - t0, 2)
            with open(out) as f:
                result = json.load(f)
            entry['metrics'] = result['metrics']
            entry['protocol'] = result.get('protocol')
        entry['status'] = 'ok'
    except Exception as err:  # noqa: BLE001 - one failing run must not stop the grid
        entry['error'] = f'{type(err).__name__}: {err}'
        traceback.print_exc()
    finally:
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass
    with open(record_file, 'w') as f:
        json.dump(entry, f, indent=2)
    return entry


# ---- reports -------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:.4f}'
    return '-' if value is None else str(value)


def markdown_summary(spec: dict, entries: List[dict]) -> str:
    """Markdown tables: runs x (grid values, status, aggregate metrics), then per dataset."""
    keys = list(spec['grid'])
    lines = [f'# Ablation grid `{spec["name"]}`', '',
             f'base: `{spec["base"]}`, mode: `{spec["mode"]}`, runs: {len(entries)}', '']
    head = ['run', *keys, 'status', *METRIC_KEYS]
    lines += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    datasets = []
    for e in entries:
        metrics = e.get('metrics') or {}
        for k in metrics:
            prefix, _, name = k.rpartition('/')
            if prefix and name in METRIC_KEYS and prefix not in datasets:
                datasets.append(prefix)
        row = [e['name'], *(str(e['labels'].get(k)) for k in keys), e['status'],
               *(_fmt(metrics.get(m)) for m in METRIC_KEYS)]
        lines.append('| ' + ' | '.join(row) + ' |')
    if datasets:
        lines += ['', '## Per dataset', '']
        head = ['run', 'dataset', *METRIC_KEYS]
        lines += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
        for e in entries:
            metrics = e.get('metrics') or {}
            for d in datasets:
                if any(f'{d}/{m}' in metrics for m in METRIC_KEYS):
                    lines.append('| ' + ' | '.join(
                        [e['name'], d, *(_fmt(metrics.get(f'{d}/{m}')) for m in METRIC_KEYS)])
                        + ' |')
    failed = [e for e in entries if e['status'] == 'failed']
    if failed:
        lines += ['', '## Failed runs', '']
        lines += [f'- `{e["name"]}`: {e["error"]}' for e in failed]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    from tr2m.utils import register_all_modules

    register_all_modules()
    spec = load_grid(args.grid_file)
    runs = expand_runs(spec)
    root = osp.join(args.work_dir, spec['name'])
    configs = [run_config(spec, run, args.cfg_options) for run in runs]  # validates all keys
    print(f'grid {spec["name"]}: {len(runs)} runs ({spec["mode"]}) on {spec["base"]}')
    for run in runs:
        values = ', '.join(f'{k}={v!r}' for k, v in run['overrides'].items())
        print(f'  {run["name"]}: {values}  -> {osp.join(root, run["name"])}')
    if args.dry_run:
        return dict(spec=spec, runs=runs)
    entries = []
    for i, (run, cfg) in enumerate(zip(runs, configs)):
        print(f'[{i + 1}/{len(runs)}] {run["name"]}')
        entries.append(execute(spec, run, cfg, osp.join(root, run['name']), args.ckpt,
                               args.rerun))
    summary = dict(grid=spec['name'], grid_file=osp.abspath(args.grid_file), base=spec['base'],
                   mode=spec['mode'], test=spec['test'],
                   options=_to_json({**spec['options'], **args.cfg_options}), runs=entries)
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2, default=str)
    table = markdown_summary(spec, entries)
    with open(osp.join(root, 'summary.md'), 'w') as f:
        f.write(table)
    print(table)
    print(f'summary: {osp.join(root, "summary.json")}, {osp.join(root, "summary.md")}')
    failed = [e['name'] for e in entries if e['status'] == 'failed']
    if failed:  # not a user mistake: exit status 1, as documented
        print(f'{len(failed)} run(s) failed: {failed}', file=sys.stderr)
        raise SystemExit(1)
    return summary


if __name__ == '__main__':
    cli.run(main)
