"""The model card (``README.md``) of a published model folder, from its ``config.json`` metadata.

The card has the Hugging Face metadata block (library, licence, tags, pipeline), how to use the
model, the results table with each result's protocol (dataset, split, crop, depth range, unit,
alignment, caption index, flip test), the frozen components with their hub ids and revisions,
the training data and their captions, the licence and the citation.
"""
from typing import Any, Dict, List

from tr2m.evaluation.functional import METRIC_KEYS

#: Metrics in the card's results table, with their headers (lower is better unless ``d``).
CARD_METRICS = (('abs_rel', 'AbsRel'), ('rmse', 'RMSE'), ('silog', 'SILog'), ('d1', 'δ1'),
                ('d2', 'δ2'), ('d3', 'δ3'))
#: Protocol keys shown beside each result (those a protocol summary has).
PROTOCOL_KEYS = ('split', 'crop', 'min_depth', 'max_depth', 'units', 'alignment',
                 'aggregation', 'caption_index', 'tta')

TR2M_BIBTEX = """@article{cui2025tr2m,
  title   = {{TR2M}: Transferring Monocular Relative Depth to Metric Depth with Language
             Descriptions and Scale-Oriented Contrast},
  author  = {Cui, Beilei and Huang, Yiming and Bai, Long and Ren, Hongliang},
  journal = {arXiv preprint arXiv:2506.13387},
  year    = {2025}
}"""


def _caption_source(node: Dict[str, Any]) -> str:
    src = node.get('caption_source')
    if isinstance(src, dict):
        detail = ', '.join(f'{k}={v}' for k, v in src.items() if k != 'type')
        return f'{src.get("type")}({detail})'
    if node.get('type') == 'DepthManifestDataset':
        return 'captions listed in the manifest'
    return 'see the dataset class'


def _caption_pick(node: Dict[str, Any]) -> str:
    for t in node.get('pipeline') or []:
        if isinstance(t, dict) and t.get('type') == 'LoadCaption':
            mode = t.get('mode', 'random')
            return f'{mode} caption per sample' if mode != 'index' else \
                f'caption {t.get("index", 0)} of each sample'
    return 'no LoadCaption in the pipeline'


def training_data(cfg: Dict[str, Any]) -> List[dict]:
    """The datasets of the config's ``train_dataloader`` (type, root, split, captions)."""
    out: List[dict] = []

    def visit(node):
        if not isinstance(node, dict):
            return
        if isinstance(node.get('dataset'), dict):
            visit(node['dataset'])
        for sub in node.get('datasets') or []:
            visit(sub)
        if node.get('type') and not node.get('datasets') and not isinstance(
                node.get('dataset'), dict):
            out.append(dict(type=node['type'], data_root=node.get('data_root'),
                            split=node.get('split') or node.get('ann_file'),
                            captions=f'{_caption_source(node)}, {_caption_pick(node)}'))

    visit((cfg.get('train_dataloader') or {}).get('dataset'))
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:.4g}'
    return '-' if value is None else str(value)


def results_table(results: List[dict]) -> List[str]:
    """Markdown rows: one per (result file, dataset), metrics then protocol."""
    if not results:
        return ['No evaluation results were published with this model (pass '
                '`--metrics RESULT.json` from `tools/test.py --out`).']
    head = ['dataset'] + [h for _, h in CARD_METRICS] + ['protocol', 'result file']
    rows = ['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
    for result in results:
        for name, entry in sorted(result['datasets'].items()):
            metrics = entry.get('metrics') or {}
            proto = entry.get('protocol') or {}
            shown = '; '.join(f'{k} {_fmt(proto[k])}' for k in PROTOCOL_KEYS if k in proto)
            cells = [name] + [_fmt(metrics.get(k)) for k, _ in CARD_METRICS]
            rows.append('| ' + ' | '.join(cells + [shown or '-', result['file']]) + ' |')
    return rows


def model_card(meta: Dict[str, Any]) -> str:
    """The card's Markdown text."""
    name = meta['name']
    hub_ids = sorted({c['hub_id'] for c in meta['frozen_components']
                      if c['weights'] == 'pretrained' and c['hub_id']
                      and not c['hub_id'].startswith('open_clip:')})
    lines = ['---', 'library_name: tr2m', f'license: {meta["license"]}',
             'pipeline_tag: depth-estimation', 'tags:', '- depth-estimation',
             '- metric-depth', '- tr2m']
    if meta['model_type'].lower() != 'tr2m':
        lines.append(f'- {meta["model_type"].lower()}')
    if hub_ids:
        lines += ['base_model:'] + [f'- {h}' for h in hub_ids]
    lines += ['---', '', f'# {name}', '',
              f'A `{meta["model_type"]}` depther trained with tr2m: metric depth in '
              f'**{meta["units"]}** from an image, its caption and a frozen relative-depth '
              'model. Only the trained parameters are in `model.safetensors` '
              f'({meta["parameters"]["in_file"]:,} values); the frozen components load from '
              'their own hub ids.', '', '## Use', '', '```python',
              'from tr2m.apis import from_pretrained, infer_depth', '',
              f"model = from_pretrained('{name}')  # a Hub repo id or this folder",
              "out = infer_depth(model, 'room.jpg', 'A small bedroom with a bed and a lamp.')",
              "out['depth']  # (H, W) float32, " + meta['units'], '```', '', '```bash',
              f'python tools/infer.py --model {name} --img photos/ --text "..."',
              f'python tools/demo.py --model {name}', '```', '', '## Results', '']
    lines += results_table(meta.get('results') or [])
    lines += ['', 'Metrics are per image over valid pixels, averaged over images; each row '
              'gives the protocol that produced it.', '', '## Frozen components', '',
              '| module | type | arch | hub id | revision | weights |',
              '| --- | --- | --- | --- | --- | --- |']
    for c in meta['frozen_components']:
        weights = {'pretrained': 'pretrained, loaded from the hub id',
                   'random': 'random (toy preset), saved in model.safetensors',
                   'none': 'no weights'}[c['weights']]
        lines.append(f'| {c["module"]} | {c["type"]} | {_fmt(c["arch"])} | {_fmt(c["hub_id"])} '
                     f'| {_fmt(c["revision"])} | {weights} |')
    lines += ['', '## Training data and captions', '']
    data = meta.get('training_data') or []
    lines += [f'- `{d["type"]}` at `{_fmt(d["data_root"])}` ({_fmt(d["split"])}); captions: '
              f'{d["captions"]}' for d in data] or ['- not recorded in the config']
    source = meta.get('source') or {}
    if source:
        lines += ['', f'Weights from `{_fmt(source.get("checkpoint"))}` of config '
                  f'`{_fmt(source.get("config"))}`; the resolved config is `config.json` '
                  '(`config`).']
    lines += ['', '## Licence', '',
              f'The weights in this folder: {meta["license"]}. The frozen components keep '
              'their own licences (see their hub pages); the training data keep theirs.', '',
              '## Citation', '', '```bibtex', TR2M_BIBTEX, '```', '']
    return '\n'.join(lines)


__all__ = ['CARD_METRICS', 'PROTOCOL_KEYS', 'training_data', 'results_table', 'model_card',
           'METRIC_KEYS']
