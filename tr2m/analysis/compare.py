"""Comparison tables: several methods on the same test sets, one table that states the
protocol and the weights of every entry (``tools/analysis_tools/compare.py`` is the CLI).

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
import csv
import functools
import hashlib
import inspect
import io
import json
import os.path as osp
import runpy
import sys
from collections import OrderedDict
from typing import Any, Dict, List, Optional

from mmengine.config import Config

from tr2m.evaluation.functional import BOUNDARY_KEYS, METRIC_KEYS
from tr2m.models.pretrained import random_init_requested
from tr2m.utils.config import merge_options_strict
from tr2m.utils.errors import ConfigError, MissingFileError

#: Top-level names a comparison file may define.
SPEC_KEYS = ('test_set', 'train_set', 'evaluator', 'options', 'methods')
#: Keys of one method entry.
METHOD_KEYS = ('config', 'checkpoint', 'options', 'note')
#: Protocol fields copied into every row of the table (from ``DepthMetric.protocol_summary``).
PROTOCOL_FIELDS = ('count', 'crop', 'crop_convention', 'min_depth', 'max_depth', 'units',
                   'alignment', 'aggregation', 'caption_index')


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
    ns = runpy.run_path(path)
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


def config_hash(cfg: Config) -> str:
    """The 12-hex-digit hash ``tools/test.py`` records for a config."""
    return hashlib.sha1(cfg.pretty_text.encode()).hexdigest()[:12]


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


def result_rows(method: str, entry: dict) -> List[dict]:
    """Table rows of one method: one per dataset (and ``'all'`` when there are several).

    Args:
        method (str): the method's name.
        entry (dict): ``status``, ``weights``, ``checkpoint``, ``config``, ``config_hash``,
            ``error`` and ``result`` (the JSON of ``tools/test.py --out``, or None).
    """
    base = dict(method=method, weights=entry.get('weights'), status=entry.get('status'),
                checkpoint=entry.get('checkpoint'), config=entry.get('config'),
                config_hash=entry.get('config_hash'), error=entry.get('error'))
    result = entry.get('result')
    if not result:
        return [dict(base, dataset=None)]
    metrics, protocol = result.get('metrics') or {}, result.get('protocol') or {}
    keys = METRIC_KEYS + BOUNDARY_KEYS
    rows = []
    names = list(protocol) + (['all'] if len(protocol) > 1 else [])
    for name in names:
        prefix = f'{name}/' if len(protocol) > 1 and name != 'all' else ''
        row = dict(base, dataset=name)
        row.update({k: metrics.get(prefix + k) for k in keys if prefix + k in metrics})
        proto = protocol.get(name) or {}
        if name == 'all':
            proto = dict(count=sum(p.get('count', 0) for p in protocol.values()))
        row.update({k: proto.get(k) for k in PROTOCOL_FIELDS if k in proto})
        if 'boundary' in proto:
            row['boundary'] = json.dumps(proto['boundary'], sort_keys=True)
        rows.append(row)
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:.4f}'
    return '-' if value is None else str(value)


def protocol_text(row: dict) -> str:
    """One cell: alignment, crop and its convention, depth range and unit, aggregation."""
    if row.get('dataset') == 'all':
        return 'each dataset under its own protocol'
    crop = row.get('crop') or 'none'
    if row.get('crop_convention'):
        crop = f'{crop} ({row["crop_convention"]})'
    lo, hi = row.get('min_depth'), row.get('max_depth')
    rng = f'{_fmt(lo) if lo is not None else 0}-{_fmt(hi) if hi is not None else "inf"}'
    return (f'align={row.get("alignment", "-")}; crop={crop}; {rng} {row.get("units") or ""}; '
            f'{row.get("aggregation", "-")}').replace('.0000', '')


def markdown_table(spec: dict, rows: List[dict]) -> str:
    """One markdown section per dataset: a row per method with its weights, metrics and
    protocol; failed methods are listed at the end."""
    keys = [k for k in METRIC_KEYS + BOUNDARY_KEYS[:1] if any(k in r for r in rows)]
    lines = [f'# Comparison `{spec["name"]}`', '',
             f'Test sets: `{osp.relpath(spec["test_set"])}`'
             + (f', evaluator options `{spec["evaluator"]}`' if spec['evaluator'] else '')
             + '. RANDOM marks components without pretrained weights: such a row measures '
             'the code path, not the published model.', '']
    datasets = []
    for r in rows:
        if r.get('dataset') and r['dataset'] not in datasets:
            datasets.append(r['dataset'])
    head = ['method', *keys, 'weights', 'protocol']
    for name in datasets:
        subset = [r for r in rows if r.get('dataset') == name]
        counts = {r.get('count') for r in subset}
        lines += [f'## {name} ({"/".join(str(c) for c in sorted(counts, key=str))} images)', '',
                  '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
        for r in subset:
            cells = [r['method'], *(_fmt(r.get(k)) for k in keys), _fmt(r.get('weights')),
                     protocol_text(r)]
            lines.append('| ' + ' | '.join(c.replace('|', '/') for c in cells) + ' |')
        lines.append('')
    failed = [r for r in rows if r.get('status') == 'failed']
    if failed:
        lines += ['## Failed', ''] + [f'- `{r["method"]}`: {r["error"]}' for r in failed] + ['']
    return '\n'.join(lines)


def csv_table(rows: List[dict]) -> str:
    """Every row with every metric and protocol field as CSV text."""
    fields = ['method', 'dataset', 'status', *METRIC_KEYS, *BOUNDARY_KEYS, *PROTOCOL_FIELDS,
              'boundary', 'weights', 'checkpoint', 'config', 'config_hash', 'error']
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction='ignore', lineterminator='\n')
    writer.writeheader()
    for r in rows:
        writer.writerow({k: r.get(k) for k in fields})
    return out.getvalue()


def summarise(spec: dict, entries: Dict[str, dict]) -> Dict[str, Any]:
    """``rows``, ``markdown`` and ``csv`` of a finished comparison (``entries`` in order)."""
    rows = [row for name, entry in entries.items() for row in result_rows(name, entry)]
    return dict(rows=rows, markdown=markdown_table(spec, rows), csv=csv_table(rows))
