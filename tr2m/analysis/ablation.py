"""Ablation grids: one base config, dotted keys with lists of values, one run per combination
(``tools/ablate.py`` is the CLI; its ``--help`` describes the grid file and the outputs).

A run is its merged config (base, then the grid's ``options``, the command line's, the run's
values, each strict), trained and tested in this process (:mod:`tr2m.analysis.runs`) in
``ROOT/<grid>/<run>/``; ``ROOT/<grid>/summary.json`` and ``summary.md`` gather them.
"""
import copy
import hashlib
import itertools
import json
import os
import os.path as osp
import re
import sys
import time
import traceback
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

from mmengine.config import Config

from tr2m.analysis.ablation_report import markdown_summary, pool_runs, pooled_json
from tr2m.analysis.runs import (
    find_checkpoint,
    finished_entry,
    name_runners,
    options_dict,
    release_memory,
    test_file,
    to_json,
    train_file,
    write_entry,
)
from tr2m.utils.config import merge_options_strict, run_python_file
from tr2m.utils.errors import ConfigError, MissingFileError

#: How a grid combines its columns.
MODES = ('product', 'zip')
_UNSAFE = re.compile(r'[^A-Za-z0-9._=+-]+')


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
        raise MissingFileError(f'grid file not found: {path}')
    ns = run_python_file(path, 'grid file')
    unknown = sorted(k for k in ns if not k.startswith('_') and k not in
                     ('base', 'grid', 'mode', 'test', 'options') and not callable(ns[k])
                     and not isinstance(ns[k], type(sys)))
    if unknown:
        raise ConfigError(f'grid file {path}: unknown top-level names {unknown}; expected base, '
                         'grid, mode, test, options')
    if not isinstance(ns.get('base'), str):
        raise ConfigError(f"grid file {path}: needs base = 'configs/....py'")
    base = ns['base']
    if not osp.isabs(base) and not osp.isfile(base):
        base = osp.join(osp.dirname(osp.abspath(path)), base)
    if not osp.isfile(base):
        raise MissingFileError(f'grid file {path}: base config not found: {ns["base"]}')
    grid = ns.get('grid')
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f'grid file {path}: needs grid = dict(key=[values, ...], ...)')
    mode = ns.get('mode', 'product')
    if mode not in MODES:
        raise ConfigError(f'grid file {path}: mode must be one of {MODES}, got {mode!r}')
    test = ns.get('test', True)
    if not isinstance(test, bool):
        raise ConfigError(f'grid file {path}: test must be True or False, got {test!r}')
    options = ns.get('options') or {}
    if not isinstance(options, dict):
        raise ConfigError(f'grid file {path}: options must be a dict of dotted keys')
    try:
        entries = OrderedDict((str(k), _labelled(str(k), v, repeats=mode == 'zip'))
                              for k, v in grid.items())
    except ValueError as err:
        raise ConfigError(f'grid file {path}: {err}') from err
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
            raise ConfigError(f"mode='zip' needs lists of one length, got {lengths}")
        combos = list(zip(*columns))
    else:
        raise ConfigError(f"mode must be one of {MODES}, got {spec['mode']!r}")
    short = _short_keys(keys)
    runs, names = [], set()
    for combo in combos:
        name = '__'.join(f'{short[k]}={label}' for k, (label, _) in zip(keys, combo))
        name = _UNSAFE.sub('_', name)[:200]
        if name in names:
            raise ConfigError(f'grid gives the run {name!r} twice')
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
            raise ConfigError(f'{what}: {err.args[0] if err.args else err}') from err
    return cfg


# ---- running -------------------------------------------------------------------------------
def execute(spec: dict, run: dict, cfg: Config, run_dir: str, which_ckpt: str,
            rerun: bool) -> dict:
    """Train (and test) one run in ``run_dir``; returns its summary entry (a failing run is
    recorded with its error, not raised)."""
    os.makedirs(run_dir, exist_ok=True)
    cfg.work_dir = run_dir
    config_hash = hashlib.sha1(cfg.pretty_text.encode()).hexdigest()[:12]
    record_file = osp.join(run_dir, 'run.json')
    old = None if rerun else finished_entry(record_file, config_hash=config_hash,
                                            test=spec['test'], ckpt=which_ckpt)
    if old is not None:
        return dict(old, status='reused')
    test_options = name_runners(cfg, f'{spec["name"]}__{run["name"]}'[:120])
    config_file = osp.join(run_dir, 'config.py')
    cfg.dump(config_file)
    entry = dict(name=run['name'], overrides=to_json(run['overrides']),
                 labels=dict(run['labels']), work_dir=run_dir, config=config_file,
                 config_hash=config_hash, test=spec['test'], ckpt=which_ckpt, status='failed',
                 checkpoint=None, metrics=None, protocol=None, train_seconds=None,
                 test_seconds=None, error=None)
    try:
        t0 = time.time()
        train_file(config_file, run_dir)
        entry['train_seconds'] = round(time.time() - t0, 2)
        ckpt = find_checkpoint(run_dir, which_ckpt)
        if ckpt is None:
            raise RuntimeError(f'training wrote no checkpoint in {run_dir}')
        entry['checkpoint'] = ckpt
        if spec['test']:
            t0 = time.time()
            result = test_file(config_file, ckpt, osp.join(run_dir, 'test'),
                               osp.join(run_dir, 'metrics.json'), options_dict(test_options))
            entry['test_seconds'] = round(time.time() - t0, 2)
            entry['metrics'] = result['metrics']
            entry['protocol'] = result.get('protocol')
        entry['status'] = 'ok'
    except Exception as err:  # noqa: BLE001 - one failing run must not stop the grid
        entry['error'] = f'{type(err).__name__}: {err}'
        traceback.print_exc()
    finally:
        release_memory()
    write_entry(record_file, entry)
    return entry


def run_grid(grid_file: str, work_dir: str = 'work_dirs/ablations', ckpt: str = 'last',
             rerun: bool = False, cli_options: Optional[dict] = None, dry_run: bool = False,
             log: Callable[[str], None] = print) -> dict:
    """Check every run of a grid file (all keys, before anything trains), then train and test
    each; write ``summary.json`` and ``summary.md`` (seeds pooled, training time, aggregates
    only over datasets of one unit: :mod:`tr2m.analysis.ablation_report`).

    Returns:
        dict: with ``dry_run``, ``spec`` and ``runs``; otherwise the summary (``runs``: one
        entry per run, ``status`` ``'ok'``, ``'reused'`` or ``'failed'``).

    Raises:
        MissingFileError, ConfigError: a mistake in the grid file or an unknown key.
    """
    cli_options = dict(cli_options or {})
    spec = load_grid(grid_file)
    runs = expand_runs(spec)
    root = osp.join(work_dir, spec['name'])
    configs = [run_config(spec, run, cli_options) for run in runs]  # validates all keys
    log(f'grid {spec["name"]}: {len(runs)} runs ({spec["mode"]}) on {spec["base"]}')
    for run in runs:
        values = ', '.join(f'{k}={v!r}' for k, v in run['overrides'].items())
        log(f'  {run["name"]}: {values}  -> {osp.join(root, run["name"])}')
    if dry_run:
        return dict(spec=spec, runs=runs)
    entries = []
    for i, (run, cfg) in enumerate(zip(runs, configs)):
        log(f'[{i + 1}/{len(runs)}] {run["name"]}')
        entries.append(execute(spec, run, cfg, osp.join(root, run['name']), ckpt, rerun))
    summary = dict(grid=spec['name'], grid_file=osp.abspath(grid_file), base=spec['base'],
                   mode=spec['mode'], test=spec['test'],
                   options=to_json({**spec['options'], **cli_options}), runs=entries,
                   pooled=pooled_json(pool_runs(list(spec['grid']), entries)))
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2, default=str)
    table = markdown_summary(spec, entries)
    with open(osp.join(root, 'summary.md'), 'w') as f:
        f.write(table)
    log(table)
    log(f'summary: {osp.join(root, "summary.json")}, {osp.join(root, "summary.md")}')
    return summary


__all__ = ['load_grid', 'expand_runs', 'run_config', 'execute', 'markdown_summary', 'run_grid',
           'MODES']
