"""Caption robustness (TR2M paper, Table 10): metrics over caption indices and swapped captions.

``python tools/analysis_tools/caption_robustness.py CONFIG CKPT [--indices 0 1 ... | --all-indices]
[--swap within|across ...] [--seed S] [--out F.json]``

The config's test set is evaluated once per caption index (the ``index`` of every
``LoadCaption`` of the test pipeline) and the mean and standard deviation over the indices of
every metric are reported. ``std`` is the population standard deviation (``ddof=0``) over the
evaluated indices. ``CKPT`` may be ``none`` (the untrained model, seeded as ``tools/test.py``
seeds it).

Indices and images with fewer captions: every index is evaluated on the *same* images, so the
numbers of different indices are comparable. ``--all-indices`` (the default) takes the indices
``0 .. n-1`` with ``n`` the smallest number of (non-empty) captions of a test image; an explicit
``--indices`` value that some image lacks is an error naming how many images lack it and the
largest index every image has. An image without any caption is an error.

``--captions FILE.json`` replaces the test set's captions by a caption file, e.g. one written
by ``tools/caption.py`` (``--captioner rsa_15`` gives indices 0-14 in RSA's order).

``--swap within`` evaluates the same indices again with every image's captions replaced by
those of another image of the same ``dataset_name``; ``--swap across`` with those of an image of
another ``dataset_name`` (an error when the test set holds one dataset only). Partners are fixed
by ``--seed`` (:class:`tr2m.datasets.CaptionSwapDataset`). Both may be given.

``--out`` JSON: ``config``, ``checkpoint``, ``indices``, ``std_ddof``, ``caption_counts``
(``min``, ``max``, ``images``), ``original`` and, per swap mode, ``swap.<mode>``, each with
``per_index`` (``{index: metrics}``, the keys ``tools/test.py`` reports), ``mean``, ``std``;
the swap entries also have ``seed``, ``delta_mean`` (swapped mean minus original mean) and
``pairs`` (``[image, image whose captions it took]``) and ``protocol`` (with ``caption_swap``);
the top-level ``protocol`` is the ``DepthMetric`` protocol summary of the first evaluation.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from tr2m.evaluation.functional import METRIC_KEYS  # noqa: E402
from tr2m.utils import cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Evaluate a depther with every caption index and with swapped captions',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none'")
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--indices', nargs='+', type=int, help='caption indices to evaluate')
    which.add_argument('--all-indices', action='store_true',
                       help='every index all test images have (the default)')
    parser.add_argument('--swap', nargs='+', choices=('within', 'across'), default=[],
                        help='also evaluate with captions swapped within / across datasets')
    parser.add_argument('--seed', type=int, default=0, help='seed of the swap partners')
    parser.add_argument('--captions', metavar='FILE.json',
                        help='evaluate with these captions (e.g. written by tools/caption.py) '
                        "instead of the test set's own caption source")
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--device', default=None, help="'cpu' or 'cuda' (default: cuda when "
                        'available)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    cli.add_debug_argument(parser)
    return parser.parse_args(argv)


def caption_transforms(dataset) -> list:
    """Every ``LoadCaption`` in the pipeline(s) of a built dataset (wrappers and
    ``ConcatDataset`` included)."""
    from tr2m.datasets.transforms import LoadCaption

    found = []
    pipeline = getattr(dataset, 'pipeline', None)
    for t in getattr(pipeline, 'transforms', []) or []:
        if isinstance(t, LoadCaption):
            found.append(t)
    for sub in getattr(dataset, 'datasets', []) or []:
        found += caption_transforms(sub)
    inner = getattr(dataset, 'dataset', None)
    if inner is not None:
        found += caption_transforms(inner)
    return found


def caption_counts(dataset) -> List[int]:
    """Number of non-empty captions of every sample."""
    counts = []
    for i in range(len(dataset)):
        caps = dataset.get_data_info(i).get('captions') or []
        counts.append(sum(1 for c in caps if isinstance(c, str) and c.strip()))
    return counts


def choose_indices(counts: Sequence[int], indices, paths: Sequence[str]) -> List[int]:
    """The indices to evaluate (see the module docstring for the policy)."""
    if not counts:
        raise SystemExit('the test set is empty')
    bare = [p for p, c in zip(paths, counts) if c == 0]
    if bare:
        raise SystemExit(f'{len(bare)} test image(s) have no caption (first: {bare[0]}); '
                         'caption robustness needs captions on every image')
    usable = min(counts)
    if indices is None:
        return list(range(usable))
    for k in indices:
        if k < 0:
            raise SystemExit(f'caption indices must be >= 0, got {k}')
        lacking = [p for p, c in zip(paths, counts) if c <= k]
        if lacking:
            raise SystemExit(f'caption index {k}: {len(lacking)} of {len(counts)} test images '
                             f'have fewer than {k + 1} captions (first: {lacking[0]}); every '
                             f'image has indices 0..{usable - 1}')
    return list(dict.fromkeys(indices))


def evaluate(model, dataset, cfg) -> tuple:
    """Run the test loop (the config's test dataloader settings over ``dataset``) and return
    ``(metrics, protocol summary)``."""
    import torch
    from mmengine.evaluator import Evaluator

    from tr2m.engine.runner import DepthRunner as Runner

    loader_cfg = copy.deepcopy(cfg.test_dataloader)
    loader_cfg['dataset'] = dataset
    loader_cfg['persistent_workers'] = False  # transforms change between evaluations
    loader = Runner.build_dataloader(loader_cfg)
    evaluator = Evaluator(copy.deepcopy(cfg.test_evaluator))
    evaluator.dataset_meta = getattr(dataset, 'metainfo', None)
    model.eval()
    with torch.no_grad():
        for batch in loader:
            outputs = model.test_step(batch)
            evaluator.process(data_samples=outputs, data_batch=batch)
    metrics = evaluator.evaluate(len(dataset))
    protocol = {}
    for metric in evaluator.metrics:
        if hasattr(metric, 'protocol_summary'):
            protocol.update(metric.protocol_summary())
    return metrics, protocol


def mean_std(per_index: Dict[int, Dict[str, float]]) -> tuple:
    """Per metric key: mean and population std (ddof=0) over the indices."""
    keys = list(next(iter(per_index.values())))
    mean, std = {}, {}
    for key in keys:
        values = np.asarray([m[key] for m in per_index.values()], dtype=np.float64)
        mean[key], std[key] = float(values.mean()), float(values.std(ddof=0))
    return mean, std


def sweep(model, dataset, cfg, transforms: list, indices: List[int], label: str) -> dict:
    """Evaluate ``dataset`` once per caption index."""
    per_index, protocol = {}, None
    for k in indices:
        for t in transforms:
            t.mode, t.index = 'index', k
        metrics, summary = evaluate(model, dataset, cfg)
        per_index[k] = {name: float(v) for name, v in metrics.items()}
        protocol = protocol or summary
        shown = '  '.join(f'{m}={per_index[k][m]:.4f}' for m in METRIC_KEYS
                          if m in per_index[k])
        print(f'[{label}] caption index {k}: {shown}')
    mean, std = mean_std(per_index)
    return dict(per_index={str(k): v for k, v in per_index.items()}, mean=mean, std=std,
                protocol=protocol)


def format_table(result: dict) -> str:
    """Rows: original and each swap mode; columns: metric mean +- std."""
    rows = [('original', result['original'])] + [
        (f'swap {mode}', entry) for mode, entry in result.get('swap', {}).items()]
    keys = [k for k in METRIC_KEYS if k in result['original']['mean']]
    width = max(len(r[0]) for r in rows) + 2
    lines = ['captions'.ljust(width) + ''.join(f'{k:>18}' for k in keys)]
    for name, entry in rows:
        lines.append(name.ljust(width) + ''.join(
            f'{entry["mean"][k]:>10.4f} ±{entry["std"][k]:<6.4f}' for k in keys))
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    import torch

    from tr2m.apis import init_depther
    from tr2m.datasets import CaptionSwapDataset
    from tr2m.registry import DATASETS

    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = init_depther(args.config, args.checkpoint, device=device,
                         cfg_options=args.cfg_options)
    cfg = model.cfg
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    if args.captions:
        from tr2m.datasets.base_dataset import BaseDepthDataset

        cls = DATASETS.get(ds_cfg.get('type')) if isinstance(ds_cfg.get('type'), str) else None
        if cls is None or not issubclass(cls, BaseDepthDataset):
            raise SystemExit(f"--captions: the test set ({ds_cfg.get('type')}) takes no "
                             'caption_source (a manifest keeps captions in its frames)')
        ds_cfg['caption_source'] = dict(type='JSONCaptionSource', ann_file=args.captions)
    dataset = DATASETS.build(ds_cfg)
    transforms = caption_transforms(dataset)
    if not transforms:
        raise SystemExit('the test pipeline has no LoadCaption: this model does not read '
                         'captions, so there is nothing to vary')
    counts = caption_counts(dataset)
    paths = [dataset.get_data_info(i).get('img_path') for i in range(len(dataset))]
    indices = choose_indices(counts, args.indices, paths)
    result = dict(config=args.config, checkpoint=args.checkpoint, captions=args.captions,
                  indices=indices, std_ddof=0,
                  caption_counts=dict(min=min(counts), max=max(counts), images=len(counts)))
    original = sweep(model, dataset, cfg, transforms, indices, 'original')
    result['protocol'] = original.pop('protocol')
    result['original'] = original
    if args.swap:
        result['swap'] = {}
    for mode in args.swap:
        try:
            swapped = CaptionSwapDataset(dataset, mode=mode, seed=args.seed)
        except ValueError as err:
            raise SystemExit(str(err)) from err
        entry = sweep(model, swapped, cfg, transforms, indices, f'swap {mode}')
        entry['seed'] = args.seed
        entry['delta_mean'] = {k: entry['mean'][k] - original['mean'][k]
                               for k in entry['mean'] if k in original['mean']}
        entry['pairs'] = [[paths[i], paths[swapped.partner(i)]] for i in range(len(swapped))]
        result['swap'][mode] = entry
    print(f'indices {indices}; mean ± std (ddof=0) over indices')
    print(format_table(result))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'results written to {args.out}')
    return result


if __name__ == '__main__':
    cli.run(main)
