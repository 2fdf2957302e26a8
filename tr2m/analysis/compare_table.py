"""The table of a comparison: one row per method and dataset with its metrics, where its
weights come from and the protocol that produced it, as markdown and CSV."""
import csv
import io
import json
import os.path as osp
from typing import Any, Dict, List

from tr2m.evaluation.functional import BOUNDARY_KEYS, METRIC_KEYS

#: Protocol fields copied into every row of the table (from ``DepthMetric.protocol_summary``).
PROTOCOL_FIELDS = ('count', 'crop', 'crop_convention', 'min_depth', 'max_depth', 'units',
                   'alignment', 'aggregation', 'caption_index')


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
