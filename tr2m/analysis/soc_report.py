"""What SOC does to a model's features: depth-class separability (the paper's Figure 5, as a
number) and the report of an ablation grid's SOC runs (``soc_separability.py`` and
``soc_grid_report.py`` under ``tools/analysis_tools/`` are the CLIs).

Separability: the test split runs through the model; the output of a submodule (TR2M: the
neck's ``F_out``, which the scale and shift heads read; with SOC also the projector's output)
is labelled with the depth classes of eq. 7 (per image range, classified at the input
resolution, then the per-cell mode). The score is ``intra - inter``: mean cosine similarity of
same-class pixel pairs minus that of different-class pairs of one image
(``tr2m.models.losses.class_separability``), averaged over images, overall and per dataset.

Grid report: for every finished run of an ablation grid, AbsRel and delta1 of its test, the
separability (computed once, kept as ``separability.json`` in the run folder) and the median
over training of ``gratio_soc`` (``LossBalanceHook``); runs that differ only in
``randomness.seed`` are pooled into one row per setting.
"""
import contextlib
import glob
import json
import os.path as osp
import re
import statistics
import sys
from typing import Optional

import torch
import torch.nn.functional as F

from tr2m.models.losses import class_separability, depth_classes, reduce_labels

SEED = re.compile(r'(^|__)seed=(\d+)')


def labels_at(gt: torch.Tensor, valid: torch.Tensor, input_size, size, num_classes: int):
    """Eq. 7 labels of the GT brought to the network input, then mode-reduced to ``size``."""
    gt = F.interpolate(gt[None], size=input_size, mode='nearest')[0]
    valid = F.interpolate(valid[None].float(), size=input_size, mode='nearest')[0] > 0.5
    cls = depth_classes(gt, valid & (gt > 0), num_classes)
    return reduce_labels(cls, size, num_classes + 1)


@torch.no_grad()
def separability(model, dataloader, feature: str = 'neck', num_classes: int = 20) -> dict:
    """``{dataset: {feature: {intra, inter, score}, ...}}`` plus ``'all'``."""
    targets = {feature: model.get_submodule(feature)}
    projector = getattr(getattr(model, 'soc', None), 'projector', None)
    if projector is not None:
        targets['soc.projector'] = projector
    seen = {}
    hooks = [m.register_forward_hook(lambda mod, a, out, n=n: seen.__setitem__(n, out))
             for n, m in targets.items()]
    if projector is not None:  # the projector does not run at test time: run it on F_out
        hooks.append(targets[feature].register_forward_hook(
            lambda mod, a, out: seen.__setitem__('soc.projector', projector(out))))
    rows = {}
    try:
        model.eval()
        for data in dataloader:
            batch = model.data_preprocessor(data, False)
            inputs, samples = batch['inputs'], batch['data_samples']
            seen.clear()
            model(inputs, samples, mode='tensor')
            for name, feats in seen.items():
                for i, s in enumerate(samples):
                    cls = labels_at(s.gt_depth.data.float(), s.gt_valid.data.bool(),
                                    tuple(inputs.shape[-2:]), tuple(feats.shape[-2:]),
                                    num_classes)
                    intra, inter = class_separability(feats[i:i + 1].float(), cls, num_classes + 1)
                    if torch.isfinite(intra) and torch.isfinite(inter):
                        ds = s.metainfo.get('dataset_name', 'data')
                        for key in (ds, 'all'):
                            rows.setdefault(key, {}).setdefault(name, []).append(
                                (float(intra), float(inter)))
    finally:
        for h in hooks:
            h.remove()
    out = {}
    for ds, per_feature in rows.items():
        out[ds] = {}
        for name, pairs in per_feature.items():
            intra = sum(p[0] for p in pairs) / len(pairs)
            inter = sum(p[1] for p in pairs) / len(pairs)
            out[ds][name] = dict(intra=intra, inter=inter, score=intra - inter, images=len(pairs))
    return out


def config_separability(config: str, checkpoint: Optional[str], feature: str = 'neck',
                        num_classes: int = 20) -> dict:
    """:func:`separability` of a config's model (``checkpoint`` None or ``'none'``: as built)
    on its test split."""
    from tr2m.apis import init_depther
    from tr2m.engine.runner import DepthRunner as Runner
    from tr2m.utils.config import load_config

    ckpt = None if checkpoint is None or checkpoint.lower() == 'none' else checkpoint
    model = init_depther(config, ckpt)
    loader = Runner.build_dataloader(load_config(config).test_dataloader)
    return separability(model, loader, feature, num_classes)


# ---- an ablation grid's SOC runs ------------------------------------------------------------
def median_scalar(run_dir: str, key: str):
    """Median of ``key`` over the newest training log's ``vis_data/scalars.json``."""
    logs = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json')))
    values = []
    for path in logs[-1:]:
        with open(path) as f:
            values = [r[key] for r in map(json.loads, f) if key in r]
    return statistics.median(values) if values else None


def run_separability(run_dir: str, checkpoint: str, feature: str) -> dict:
    path = osp.join(run_dir, 'separability.json')
    if osp.exists(path):
        with open(path) as f:
            text = f.read()
        if text.strip().startswith('{'):
            return json.loads(text)
    with contextlib.redirect_stdout(sys.stderr):  # mmengine's loading messages
        out = config_separability(osp.join(run_dir, 'config.py'), checkpoint, feature)
    with open(path, 'w') as f:
        json.dump(out, f, indent=2)
    return out


def collect(grid_dirs, feature: str):
    rows = []
    for grid_dir in grid_dirs:
        for run_json in sorted(glob.glob(osp.join(grid_dir, '*', 'run.json'))):
            with open(run_json) as f:
                run = json.load(f)
            if run.get('status') not in ('ok', 'reused') or not run.get('metrics'):
                continue
            run_dir = osp.dirname(run_json)
            sep = run_separability(run_dir, run['checkpoint'], feature)['all']
            seed = SEED.search(run['name'])
            rows.append(dict(
                grid=osp.basename(osp.normpath(grid_dir)), name=run['name'],
                setting=SEED.sub('', run['name']).strip('_') or 'base',
                seed=int(seed.group(2)) if seed else None,
                abs_rel=run['metrics']['abs_rel'], d1=run['metrics']['d1'],
                sep=sep[feature]['score'],
                proj=sep.get('soc.projector', {}).get('score'),
                gratio=median_scalar(run_dir, 'gratio_soc')))
    return rows


def _fmt(values, digits):
    return ' '.join('-' if v is None else f'{v:.{digits}f}' for v in values)


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def report(rows, feature: str) -> str:
    settings = {}
    for r in rows:
        settings.setdefault((r['grid'], r['setting']), []).append(r)
    lines = [f'| grid | setting | seeds | AbsRel per seed | median | separability `{feature}` '
             'per seed | median | projector (median) | gratio_soc (median) |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for (grid, setting), runs in settings.items():
        runs.sort(key=lambda r: (r['seed'] is None, r['seed']))
        med = [_median([r[k] for r in runs]) for k in ('abs_rel', 'sep', 'proj', 'gratio')]
        lines.append(
            f"| {grid} | {setting} | {' '.join(str(r['seed']) for r in runs)} | "
            f"{_fmt([r['abs_rel'] for r in runs], 3)} | {_fmt(med[:1], 3)} | "
            f"{_fmt([r['sep'] for r in runs], 4)} | {_fmt(med[1:2], 4)} | "
            f"{_fmt(med[2:3], 4)} | {_fmt(med[3:], 4)} |")
    return '\n'.join(lines)
