"""The summary of an ablation grid: runs that differ only in their seed pooled (mean and
spread), the training time beside the metrics, and aggregates only over like with like.

- **Seeds**: a grid key whose last part is ``seed`` (``randomness.seed``) is the seed axis.
  Runs with the same other values form one row: each metric is the mean over the finished runs
  with the sample standard deviation (``0.235 ± 0.012``) and the number of seeds beside it.
- **Time**: the mean training time of a row's runs (``train_seconds`` of each run).
- **Like with like**: ``rmse`` and ``sq_rel`` carry the depth unit. A run whose datasets are in
  different units (metres and millimetres, from each dataset's protocol) gets no aggregate for
  them (``-``, with a note); the per-dataset table gives them with their unit. The unit-free
  metrics (``abs_rel``, ``rmse_log``, ``log10``, ``silog``, ``d1``-``d3``) keep their aggregate.
"""
import math
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

from tr2m.evaluation.functional import METRIC_KEYS

#: Metrics in the unit of depth: aggregated over datasets of one unit only.
UNIT_METRICS = ('rmse', 'sq_rel')


def seed_keys(keys: Sequence[str]) -> List[str]:
    """The grid keys that are seeds (last dotted part ``seed``)."""
    return [k for k in keys if k.rsplit('.', 1)[-1] == 'seed']


def entry_units(entry: dict) -> Dict[str, str]:
    """``{dataset: unit}`` of a run's protocol (``'m'`` where a protocol names none)."""
    return {name: (proto or {}).get('units') or 'm'
            for name, proto in (entry.get('protocol') or {}).items()}


def mean_spread(values: Sequence[float]) -> tuple:
    """``(mean, sample standard deviation or None for one value, n)`` of finite values."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return None, None, 0
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return mean, None, 1
    var = sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)
    return mean, math.sqrt(var), len(vals)


def format_spread(mean: Optional[float], spread: Optional[float]) -> str:
    """``0.2350 ± 0.0120`` style: the spread to two significant digits and the mean to the same
    decimal; one value (no spread) with 4 decimals; None as ``-``."""
    if mean is None:
        return '-'
    if spread is None:
        return f'{mean:.4f}'
    if spread == 0:
        return f'{mean:.4f} ± 0'
    decimals = min(6, max(0, 1 - math.floor(math.log10(abs(spread)))))
    return f'{mean:.{decimals}f} ± {spread:.{decimals}f}'


def format_seconds(seconds: Optional[float]) -> str:
    """``42 s``, ``3.5 min`` or ``1.2 h``; ``-`` for None."""
    if seconds is None:
        return '-'
    if seconds < 120:
        return f'{seconds:.0f} s'
    if seconds < 7200:
        return f'{seconds / 60:.1f} min'
    return f'{seconds / 3600:.1f} h'


def group_name(entry: dict, seeds: Sequence[str]) -> str:
    """The run's name without its seed part (``rho=0.8__seed=1`` -> ``rho=0.8``)."""
    if not seeds:
        return entry['name']
    parts = [p for p in entry['name'].split('__')
             if p.split('=', 1)[0].rsplit('.', 1)[-1] != 'seed']
    return '__'.join(parts) or 'all'


def pool_runs(keys: Sequence[str], entries: List[dict]) -> List[dict]:
    """Rows of the summary: one per run, or per group of runs differing only in a seed key.

    Each row: ``name``, ``labels`` (the non-seed grid values), ``runs`` (names), ``finished``
    (how many have metrics), ``status`` (``ok``, ``reused``, ``failed`` or ``k/n ok``),
    ``train_seconds`` (mean), ``metrics`` ``{key: (mean, spread, n)}`` over the finished runs
    (aggregate keys for ``rmse``/``sq_rel`` left out when the datasets' units differ),
    ``units`` ``{dataset: unit}`` and ``mixed_units`` (bool).
    """
    seeds = seed_keys(keys)
    groups: OrderedDict[str, List[dict]] = OrderedDict()
    for e in entries:  # grouped by the values of the other keys
        other = tuple((k, str(v)) for k, v in e['labels'].items() if k not in seeds)
        groups.setdefault(other, []).append(e)
    rows = []
    for members in groups.values():
        name = group_name(members[0], seeds)
        done = [e for e in members if e.get('metrics')]
        units: Dict[str, str] = {}
        for e in done:
            units.update(entry_units(e))
        mixed = len(set(units.values())) > 1
        keys_seen = list(OrderedDict.fromkeys(k for e in done for k in e['metrics']))
        metrics = {}
        for key in keys_seen:
            if mixed and key in UNIT_METRICS:
                continue  # metres and millimetres never averaged together
            metrics[key] = mean_spread([e['metrics'].get(key) for e in done])
        statuses = {e['status'] for e in members}
        status = statuses.pop() if len(statuses) == 1 else \
            f"{sum(e['status'] != 'failed' for e in members)}/{len(members)} ok"
        rows.append(dict(
            name=name, labels={k: v for k, v in members[0]['labels'].items() if k not in seeds},
            runs=[e['name'] for e in members], finished=len(done), status=status,
            train_seconds=mean_spread([e.get('train_seconds') for e in done])[0],
            metrics=metrics, units=units, mixed_units=mixed))
    return rows


def _datasets(rows: List[dict]) -> List[str]:
    found: List[str] = []
    for row in rows:
        for key in row['metrics']:
            prefix, _, name = key.rpartition('/')
            if prefix and name in METRIC_KEYS and prefix not in found:
                found.append(prefix)
    return found


def markdown_summary(spec: dict, entries: List[dict]) -> str:
    """Markdown tables: one row per run (seeds pooled) x (grid values, seeds, status, training
    time, aggregate metrics), then per dataset with its unit."""
    keys = list(spec['grid'])
    seeds = seed_keys(keys)
    shown = [k for k in keys if k not in seeds]
    rows = pool_runs(keys, entries)
    about = f'base: `{spec["base"]}`, mode: `{spec["mode"]}`, runs: {len(entries)}'
    if seeds:
        about += (f'; seeds pooled over `{", ".join(seeds)}`: mean ± sample standard '
                  'deviation over the seeds')
    lines = [f'# Ablation grid `{spec["name"]}`', '', about, '']
    head = ['run', *shown, 'seeds', 'status', 'train time', *METRIC_KEYS]
    lines += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for row in rows:
        cells = [row['name'], *(str(row['labels'].get(k)) for k in shown),
                 str(row['finished']), row['status'], format_seconds(row['train_seconds'])]
        cells += [format_spread(*row['metrics'][m][:2]) if m in row['metrics'] else '-'
                  for m in METRIC_KEYS]
        lines.append('| ' + ' | '.join(cells) + ' |')
    mixed = [row for row in rows if row['mixed_units']]
    if mixed:
        units = sorted({u for row in mixed for u in row['units'].values()})
        lines += ['', f'{", ".join(UNIT_METRICS)}: per dataset only where the datasets\' units '
                  f'differ ({", ".join(units)}); an average over them would mix units.']
    datasets = _datasets(rows)
    if datasets:
        lines += ['', '## Per dataset', '']
        head = ['run', 'dataset', 'unit', *METRIC_KEYS]
        lines += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
        for row in rows:
            for d in datasets:
                if any(f'{d}/{m}' in row['metrics'] for m in METRIC_KEYS):
                    cells = [row['name'], d, row['units'].get(d, '-')]
                    cells += [format_spread(*row['metrics'][f'{d}/{m}'][:2])
                              if f'{d}/{m}' in row['metrics'] else '-' for m in METRIC_KEYS]
                    lines.append('| ' + ' | '.join(cells) + ' |')
    failed = [e for e in entries if e['status'] == 'failed']
    if failed:
        lines += ['', '## Failed runs', '']
        lines += [f'- `{e["name"]}`: {e["error"]}' for e in failed]
    return '\n'.join(lines) + '\n'


def pooled_json(rows: List[dict]) -> List[Dict[str, Any]]:
    """The rows of :func:`pool_runs` for ``summary.json`` (``{key: {mean, std, n}}``)."""
    return [dict(row, metrics={k: dict(mean=m, std=s, n=n) for k, (m, s, n) in
                               row['metrics'].items()}) for row in rows]


__all__ = ['UNIT_METRICS', 'seed_keys', 'entry_units', 'mean_spread', 'format_spread',
           'format_seconds', 'group_name', 'pool_runs', 'markdown_summary', 'pooled_json']
