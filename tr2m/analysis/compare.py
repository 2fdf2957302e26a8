"""Comparisons: several methods on the same test sets, one table that states the protocol and
the weights of every entry (``tools/analysis_tools/compare.py`` is the CLI; the table itself is
:mod:`tr2m.analysis.compare_table`).

A comparison file is Python, like an ablation grid::

    test_set = '../_base_/datasets/synthetic_rgbd.py'   # its test (and val) dataloader
    train_set = '../_base_/datasets/synthetic_rgbd.py'  # optional: its train dataloader
    evaluator = dict(boundary=True)        # optional: merged into every method's test_evaluator
    options = {'train_cfg.max_epochs': 30}  # optional: strict overrides shared by every method
    methods = {
        'TR2M': dict(config='../quickstart/tr2m_synthetic.py', checkpoint='train'),
        'median': dict(config='./demo/relative_synthetic.py',
                       options={'test_evaluator.alignment': 'median'}),
        'Depth Pro': dict(config='../metric_baselines/depth_pro.py'),  # checkpoint: 'none'
    }

Paths are relative to the current folder or to the comparison file. Every method's config gets
the test set's ``test_dataloader`` / ``val_dataloader`` in place of its own (and the train
set's training ``dataset``: the method keeps its batch size, sampler and batch sampler, which
are part of its recipe, e.g. RSA's one sub-batch per dataset per step), its evaluator updated
with ``evaluator``, then ``options``, the method's ``options`` and the command line's, each
strict (an unknown key names the closest existing ones). ``checkpoint`` is ``'none'`` (nothing
trained: alignment and metric baselines), ``'train'`` (train it here with ``tools/train.py``,
test the last checkpoint) or a checkpoint path.
"""
import copy
import functools
import inspect
import os
import os.path as osp
import re
import sys
import time
import traceback
from collections import OrderedDict
from typing import Any, Callable, Dict, Optional

from mmengine.config import Config

from tr2m.analysis.compare_table import summarise
from tr2m.analysis.runs import (
    find_checkpoint,
    finished_entry,
    name_runners,
    options_dict,
    release_memory,
    test_file,
    train_file,
    write_entry,
)
from tr2m.apis.runs import config_hash
from tr2m.models.pretrained import random_init_requested
from tr2m.utils.config import merge_options_strict, run_python_file
from tr2m.utils.errors import ArgumentError, ConfigError, MissingFileError

#: Top-level names a comparison file may define.
SPEC_KEYS = ('test_set', 'train_set', 'evaluator', 'options', 'methods')
#: Keys of one method entry.
METHOD_KEYS = ('config', 'checkpoint', 'options', 'note')
_UNSAFE = re.compile(r'[^A-Za-z0-9._=+-]+')


def _resolve(path: str, spec_path: str, what: str) -> str:
    if not osp.isabs(path) and not osp.isfile(path):
        path = osp.join(osp.dirname(osp.abspath(spec_path)), path)
    if not osp.isfile(path):
        raise MissingFileError(f'comparison file {spec_path}: {what} not found: {path}')
    return osp.normpath(path)


def load_compare_spec(path: str) -> dict:
    """Read and check a comparison file.

    Returns:
        dict: ``name`` (file stem), ``path``, ``test_set``, ``train_set`` (resolved paths or
        None), ``evaluator``, ``options`` and ``methods`` (``{name: dict(config, checkpoint,
        options, note)}`` in file order).

    Raises:
        MissingFileError: the file, a config or a dataset file it names does not exist.
        ConfigError: an unknown name or key, or a malformed entry.
    """
    if not osp.isfile(path):
        raise MissingFileError(f'comparison file not found: {path}')
    ns = run_python_file(path, 'comparison file')
    unknown = sorted(k for k in ns if not k.startswith('_') and k not in SPEC_KEYS
                     and not callable(ns[k]) and not isinstance(ns[k], type(sys)))
    if unknown:
        raise ConfigError(f'comparison file {path}: unknown top-level names {unknown}; '
                          f'expected {", ".join(SPEC_KEYS)}')
    if not isinstance(ns.get('test_set'), str):
        raise ConfigError(f"comparison file {path}: needs test_set = 'configs/_base_/datasets/"
                          "....py' (every method is tested on it)")
    methods = ns.get('methods')
    if not isinstance(methods, dict) or not methods:
        raise ConfigError(f'comparison file {path}: needs methods = {{name: dict(config=...)}}')
    for key in ('evaluator', 'options'):
        if not isinstance(ns.get(key) or {}, dict):
            raise ConfigError(f'comparison file {path}: {key} must be a dict')
    entries = OrderedDict()
    for name, entry in methods.items():
        if not isinstance(entry, dict) or not isinstance(entry.get('config'), str):
            raise ConfigError(f'comparison file {path}: methods[{name!r}] must be '
                              "dict(config='...py'[, checkpoint, options, note])")
        bad = sorted(set(entry) - set(METHOD_KEYS))
        if bad:
            raise ConfigError(f'comparison file {path}: methods[{name!r}] has unknown keys {bad}; '
                              f'valid: {METHOD_KEYS}')
        if not isinstance(entry.get('options') or {}, dict):
            raise ConfigError(f'comparison file {path}: methods[{name!r}].options must be a dict')
        entries[str(name)] = dict(
            config=_resolve(entry['config'], path, f'config of {name!r}'),
            checkpoint=str(entry.get('checkpoint', 'none')),
            options=dict(entry.get('options') or {}), note=entry.get('note'))
    train_set = ns.get('train_set')
    return dict(name=osp.splitext(osp.basename(path))[0], path=osp.abspath(path),
                test_set=_resolve(ns['test_set'], path, 'test_set'),
                train_set=None if train_set is None else _resolve(train_set, path, 'train_set'),
                evaluator=dict(ns.get('evaluator') or {}), options=dict(ns.get('options') or {}),
                methods=entries)


@functools.lru_cache(maxsize=16)
def _dataset_config(path: str) -> Config:
    """A test or train set file, parsed once (callers copy what they take)."""
    return Config.fromfile(path)


def method_config(spec: dict, name: str, cli_options: Optional[dict] = None) -> Config:
    """The merged config of one method (see the module docstring for the order).

    Raises:
        ConfigError: the test set has no ``test_dataloader``, or an override names a key that
            does not exist (the message names the closest ones).
    """
    entry = spec['methods'][name]
    cfg = Config.fromfile(entry['config'])
    test_set = _dataset_config(spec['test_set'])
    if 'test_dataloader' not in test_set:
        raise ConfigError(f'test_set {spec["test_set"]} defines no test_dataloader')
    cfg.test_dataloader = copy.deepcopy(test_set.test_dataloader)
    cfg.val_dataloader = copy.deepcopy(test_set.get('val_dataloader', test_set.test_dataloader))
    if spec['train_set'] is not None:
        train_set = _dataset_config(spec['train_set'])
        if 'train_dataloader' not in train_set:
            raise ConfigError(f'train_set {spec["train_set"]} defines no train_dataloader')
        if cfg.get('train_dataloader') is None:
            cfg.train_dataloader = copy.deepcopy(train_set.train_dataloader)
        else:  # the method's batch size, sampler and batch sampler are part of its recipe
            cfg.train_dataloader.dataset = copy.deepcopy(train_set.train_dataloader.dataset)
    evaluator = dict(cfg.get('test_evaluator') or dict(type='DepthMetric'))
    evaluator.update(spec['evaluator'])
    cfg.test_evaluator = evaluator
    cfg.val_evaluator = copy.deepcopy(evaluator)
    for what, opts in (('options', spec['options']), (f'methods[{name!r}].options',
                                                        entry['options']),
                       ('--cfg-options', cli_options or {})):
        try:
            merge_options_strict(cfg, copy.deepcopy(dict(opts)))
        except KeyError as err:
            raise ConfigError(f'{what} of {name!r}: {err.args[0] if err.args else err}') from err
    return cfg


def _default_pretrained(type_name: Optional[str], frozen_only: bool) -> Any:
    """The ``pretrained`` default of a registered component, or a sentinel when it has none.

    With ``frozen_only`` (the method is tested on a checkpoint, trained here or given), only
    frozen components count: a trainable module's ``pretrained`` is its initialisation, and
    its weights come from the checkpoint.
    """
    from tr2m.models.pretrained import FrozenMixin
    from tr2m.registry import MODELS

    cls = MODELS.get(type_name) if isinstance(type_name, str) else None
    if cls is None or (frozen_only and not issubclass(cls, FrozenMixin)):
        return inspect.Parameter.empty
    param = inspect.signature(cls).parameters.get('pretrained')
    return inspect.Parameter.empty if param is None else param.default


def weights_summary(model_cfg: dict, checkpoint: str) -> str:
    """Where a method's weights come from, for the table: trained here / a checkpoint, and
    every pretrained-capable component as ``random``, ``pretrained`` (with its source) or
    ``simulated`` (``SimulatedRelativeDepth``). ``TR2M_RANDOM_INIT=1`` makes them all random.
    """
    random_init = random_init_requested()
    frozen_only = checkpoint.lower() != 'none'
    found = OrderedDict(random=[], pretrained=[], simulated=[])

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            kind = node.get('type')
            if kind == 'SimulatedRelativeDepth':
                found['simulated'].append(path)
            default = _default_pretrained(kind, frozen_only)
            source = node.get('pretrained', default)
            if default is not inspect.Parameter.empty:
                label = f'{path} ({node["arch"]})' if node.get('arch') else path
                if random_init or source is None:
                    found['random'].append(label)
                else:
                    found['pretrained'].append(f'{label}: {source}')
            for key, value in node.items():
                walk(value, key if path == 'model' else f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}.{i}')

    walk(model_cfg, 'model')
    parts = []
    if checkpoint == 'train':
        parts.append('trained here')
    elif checkpoint.lower() != 'none':
        parts.append(f'checkpoint {osp.basename(checkpoint)}')
    if found['random']:
        parts.append('RANDOM weights: ' + ', '.join(found['random']))
    if found['simulated']:
        parts.append('simulated: ' + ', '.join(found['simulated']))
    if found['pretrained']:
        parts.append('pretrained: ' + ', '.join(found['pretrained']))
    return '; '.join(parts) or 'no pretrained component'


# ---- running -----------------------------------------------------------------------------------
def run_method(name: str, cfg: Config, checkpoint: str, run_dir: str, rerun: bool) -> dict:
    """Train (when asked) and test one method in ``run_dir``; returns its entry (a failing
    method is recorded with its error, not raised)."""
    os.makedirs(run_dir, exist_ok=True)
    record = osp.join(run_dir, 'run.json')
    digest = config_hash(cfg)
    old = None if rerun else finished_entry(record, config_hash=digest,
                                            requested_checkpoint=checkpoint)
    if old is not None:
        return dict(old, status='reused')
    cfg.work_dir = run_dir
    test_options = name_runners(cfg, f'compare_{_UNSAFE.sub("_", name)[:60]}')
    config_file = osp.join(run_dir, 'config.py')
    cfg.dump(config_file)
    entry = dict(method=name, config=config_file, config_hash=digest, status='failed',
                 requested_checkpoint=checkpoint, checkpoint=None, result=None, error=None,
                 weights=weights_summary(cfg.model.to_dict(), checkpoint),
                 train_seconds=None, test_seconds=None)
    try:
        ckpt = checkpoint
        if checkpoint == 'train':
            t0 = time.time()
            train_file(config_file, run_dir)
            entry['train_seconds'] = round(time.time() - t0, 2)
            ckpt = find_checkpoint(run_dir)  # the last one, never a best-on-test one
            if ckpt is None:
                raise RuntimeError(f'training wrote no checkpoint in {run_dir}')
        entry['checkpoint'] = ckpt
        t0 = time.time()
        entry['result'] = test_file(config_file, ckpt, osp.join(run_dir, 'test'),
                                    osp.join(run_dir, 'metrics.json'), options_dict(test_options))
        entry['test_seconds'] = round(time.time() - t0, 2)
        entry['status'] = 'ok'
    except (Exception, SystemExit) as err:  # noqa: BLE001 - one failure must not stop the rest
        entry['error'] = f'{type(err).__name__}: {err}'
        traceback.print_exc()
    finally:
        release_memory()
    write_entry(record, entry)
    return entry


def run_comparison(compare_file: str, work_dir: str = 'work_dirs/compare',
                   checkpoints: Optional[Dict[str, str]] = None, methods=None,
                   cli_options: Optional[dict] = None, rerun: bool = False,
                   dry_run: bool = False, log: Callable[[str], None] = print) -> dict:
    """Check every method's merged config, then run each and write ``comparison.md`` and
    ``comparison.csv`` under ``work_dir/<file stem>/``.

    Args:
        compare_file (str): the comparison file.
        work_dir (str): root folder. Defaults to 'work_dirs/compare'.
        checkpoints (dict, optional): ``{method: checkpoint}`` replacing the file's.
        methods (list, optional): run only these. Defaults to all, in file order.
        cli_options (dict, optional): strict overrides for every method.
        rerun (bool): run finished methods again. Defaults to False.
        dry_run (bool): check and print, run nothing. Defaults to False.
        log (callable): where progress lines go. Defaults to ``print``.

    Returns:
        dict: ``spec`` and ``configs`` for a dry run, else ``spec``, ``entries`` (per method,
        with ``status``), ``rows``, ``markdown`` and ``csv``.

    Raises:
        MissingFileError, ConfigError: a mistake in the file or an override; ArgumentError: an
        unknown method in ``checkpoints`` or ``methods``.
    """
    spec = load_compare_spec(compare_file)
    for method, ckpt in (checkpoints or {}).items():
        if method not in spec['methods']:
            raise ArgumentError(f'--checkpoint {method}={ckpt}: expected METHOD=CKPT with '
                                f'METHOD one of {list(spec["methods"])}')
        spec['methods'][method]['checkpoint'] = ckpt
    names = list(methods or spec['methods'])
    unknown = sorted(set(names) - set(spec['methods']))
    if unknown:
        raise ArgumentError(f'--methods: unknown {unknown}; known: {list(spec["methods"])}')
    configs = {n: method_config(spec, n, cli_options) for n in names}  # checks every key
    root = osp.join(work_dir, spec['name'])
    log(f'comparison {spec["name"]}: {len(names)} methods on {spec["test_set"]}')
    for n in names:
        entry = spec['methods'][n]
        log(f'  {n}: {entry["config"]} (checkpoint {entry["checkpoint"]})')
    if dry_run:
        return dict(spec=spec, configs=configs)
    entries = {}
    for i, n in enumerate(names):
        log(f'[{i + 1}/{len(names)}] {n}')
        entries[n] = run_method(n, configs[n], spec['methods'][n]['checkpoint'],
                                osp.join(root, _UNSAFE.sub('_', n)), rerun)
    table = summarise(spec, entries)
    os.makedirs(root, exist_ok=True)
    for ext, key in (('md', 'markdown'), ('csv', 'csv')):
        with open(osp.join(root, f'comparison.{ext}'), 'w') as f:
            f.write(table[key])
    log(table['markdown'])
    log(f'table: {osp.join(root, "comparison.md")}, {osp.join(root, "comparison.csv")}')
    return dict(spec=spec, entries=entries, **table)
