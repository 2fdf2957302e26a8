"""Compute and store the frozen models' outputs for every sample of a config (the cache tool).

``build_feature_cache(cfg)`` builds the config's model exactly as training does (same seed, so
random frozen weights are the training run's), then for every dataset of the train / val /
test loaders: embeds each distinct caption once, and runs the relative-depth model and the
image encoder on every sample in every view (flip), chunk by chunk, into a resumable
:class:`~tr2m.datasets.feature_store.PartWriter`. Before writing it prints what each part will
take on disk and refuses when the disk is short. See :mod:`tr2m.engine.feature_cache` for the
keys and the supported augmentations.
"""
import copy
import json
import os
import os.path as osp
import shutil
import sys
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from tr2m.datasets.feature_store import (
    CACHE_FORMAT,
    STORAGE_DTYPES,
    PartWriter,
    read_json,
    sample_key,
)
from tr2m.engine.feature_cache import (
    CACHE_FILE,
    LOADERS,
    NOT_INPUT_TRANSFORMS,
    _plain,
    _type_name,
    cache_spec,
    canonical,
    default_cache_root,
    describe_diff,
    digest,
    frozen_fingerprint,
    parts_by_id,
    plan_parts,
)
from tr2m.utils.errors import ArgumentError, ConfigError, DataError

#: Free-disk margin kept when checking the space a cache needs.
DISK_MARGIN = 1.02


def part_nbytes(num_samples: int, num_views: int, rel_shape: Sequence[int],
                img_shape: Sequence[int], dtype: str, num_captions: int, text_width: int,
                token_width: int = 0, tokens_per_caption: int = 0) -> int:
    """Bytes of one part on disk: float16 ``Dr``, image tokens in ``dtype`` (int8 adds a float32
    scale per token), float16 pooled captions and, when kept, float16 caption tokens."""
    d, h, w = img_shape
    per_view = 2 * int(np.prod(rel_shape)) + (2 * d * h * w if dtype == 'float16'
                                              else d * h * w + 4 * h * w)
    text = num_captions * (2 * text_width + 2 * token_width * tokens_per_caption)
    return num_samples * num_views * per_view + text


def _gb(n: float) -> str:
    return f'{n / 1e9:.3f} GB'


def view_pipeline(pipeline: Sequence, flip: bool):
    """The deterministic pipeline of one view: ``RandomFlip`` forced on or off, captions and
    cached-feature loading left out."""
    from mmengine.dataset import Compose

    from tr2m.registry import TRANSFORMS

    out = []
    for t in pipeline:
        name = _type_name(t)
        if name in NOT_INPUT_TRANSFORMS and name != 'PackDepthInputs':
            continue
        cfg = copy.deepcopy(_plain(t))
        if name == 'RandomFlip':
            cfg['prob'] = 1.0 if flip else 0.0  # also sets results['flip'] as in training
        out.append(TRANSFORMS.build(cfg))
    if not out or _type_name(out[-1]) != 'PackDepthInputs':
        out.append(TRANSFORMS.build(dict(type='PackDepthInputs')))
    return Compose(out)


def _captions(dataset, pipeline: Sequence) -> List[str]:
    """Every distinct non-empty caption of a dataset (first-seen order), plus the
    ``LoadCaption`` fallback of the pipeline."""
    seen = OrderedDict()
    for i in range(len(dataset)):
        for c in dataset.get_data_info(i).get('captions') or []:
            if isinstance(c, str) and c.strip():
                seen[c] = None
    for t in pipeline:
        if _type_name(t) == 'LoadCaption' and isinstance(t, dict) and t.get('fallback'):
            seen[t['fallback']] = None
    return list(seen)


def _build_dataset(leaf: dict):
    from tr2m.registry import DATASETS

    cfg = _plain(leaf)
    cfg['pipeline'] = []
    cfg.pop('indices', None)  # cache every sample: a subset may change later
    return DATASETS.build(cfg)


class _Model:
    """The frozen parts of a built TR2M, as the builder calls them."""

    def __init__(self, model, device) -> None:
        if not hasattr(model, 'frozen_image_features'):
            raise ConfigError(f'the feature cache serves TR2M models; {type(model).__name__} '
                              'has no frozen_image_features')
        self.model = model
        self.device = device
        self.text = model.text_encoder
        self.widths = dict(model.frozen_widths)

    @torch.no_grad()
    def images(self, packed: List[dict]) -> List[tuple]:
        """``(rel (H, W), img (D, h, w))`` float32 arrays of packed samples (batched by size)."""
        out: List[Optional[tuple]] = [None] * len(packed)
        groups: Dict[tuple, List[int]] = OrderedDict()
        for i, p in enumerate(packed):
            groups.setdefault(tuple(p['inputs'].shape), []).append(i)
        for idx in groups.values():
            batch = self.model.data_preprocessor(
                dict(inputs=[packed[i]['inputs'] for i in idx],
                     data_samples=[packed[i]['data_samples'] for i in idx]), False)
            rel, img = self.model.frozen_image_features(batch['inputs'], batch['data_samples'])
            rel, img = rel[:, 0].float().cpu().numpy(), img.float().cpu().numpy()
            for j, i in enumerate(idx):
                out[i] = (rel[j], img[j])
        return out

    @torch.no_grad()
    def captions(self, captions: List[str], keep_tokens: bool):
        emb = self.text._encode(captions)  # the encoder's raw forward, float32
        pooled = emb.pooled.float().cpu().numpy()
        tokens = None
        if keep_tokens:
            lengths = emb.mask.sum(1).tolist()
            tokens = [emb.tokens[i, :int(n)].float().cpu().numpy() for i, n in enumerate(lengths)]
        return pooled, tokens


def _write_root_meta(root: str, meta: dict) -> None:
    path = osp.join(root, CACHE_FILE)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _versions() -> dict:
    import importlib

    out = dict(torch=torch.__version__)
    for name in ('transformers', 'open_clip', 'tr2m'):
        try:
            out[name] = getattr(importlib.import_module(name), '__version__', '?')
        except ImportError:
            out[name] = None
    return out


def build_feature_cache(cfg, root: Optional[str] = None, dtype: Optional[str] = None,
                        batch_size: int = 4, text_batch_size: int = 256,
                        device: str = 'cpu', loaders: Sequence[str] = LOADERS,
                        text_tokens: Optional[bool] = None, progress: bool = True,
                        dry_run: bool = False, log: Callable[[str], None] = print) -> dict:
    """Compute (or resume) the feature cache of a config.

    Args:
        cfg (Config): the config, *not* in cache mode (its ``cache`` key, if any, only gives
            the default root and dtype).
        root (str, optional): output root. Defaults to ``cache.root`` of the config, else
            ``work_dirs/cache/<config name>``.
        dtype (str, optional): image-token storage, ``'float16'`` or ``'int8'``. Defaults to
            ``cache.dtype`` of the config, else float16.
        batch_size (int): samples per chunk (one frozen-model batch per size group); fixed for
            a part once it is started. Defaults to 4.
        text_batch_size (int): captions per text-encoder call. Defaults to 256.
        device (str): where the frozen models run. Defaults to 'cpu'.
        loaders (Sequence[str]): dataloaders whose datasets are cached. Defaults to train, val
            and test.
        text_tokens (bool, optional): store per-token caption states; None decides from the
            neck (``text_tokens='all'``). Defaults to None.
        progress (bool): show a progress bar. Defaults to True.
        dry_run (bool): print the plan and the disk it needs, write nothing. Defaults to False.
        log (callable): where the plan lines go. Defaults to ``print``.

    Returns:
        dict: the root's metadata (``cache.json``).

    Raises:
        ConfigError: an augmentation the cache cannot serve, or a root holding another frozen
        fingerprint. DataError: not enough disk.
    """
    from mmengine.registry import DefaultScope
    from mmengine.runner import set_random_seed

    from tr2m.registry import MODELS

    spec = cache_spec(cfg) or {}
    root = osp.abspath(root or default_cache_root(cfg))
    dtype = dtype or spec.get('dtype', 'float16')
    if dtype not in STORAGE_DTYPES:
        raise ArgumentError(f'--dtype must be one of {STORAGE_DTYPES}, got {dtype!r}')
    if batch_size < 1 or text_batch_size < 1:
        raise ArgumentError('batch sizes must be >= 1')
    frozen = canonical(frozen_fingerprint(cfg))
    if frozen['random_weights'] and frozen['seed'] is None:
        raise ConfigError('frozen models with random weights (random init, pretrained=None) '
                          'depend on the seed: set randomness=dict(seed=...) in the config to '
                          'cache them')
    plan = parts_by_id(plan_parts(cfg, loaders, spec.get('deterministic_transforms', ())))
    if not plan:
        raise ConfigError(f'no dataset with a pipeline under {list(loaders)} of the config')
    meta_path = osp.join(root, CACHE_FILE)
    meta = read_json(meta_path, 'feature-cache metadata') if osp.isfile(meta_path) else None
    if meta is not None:
        diff = describe_diff(meta['frozen'], frozen)
        if meta.get('format') != CACHE_FORMAT or diff:
            raise ConfigError(f'{root} holds a feature cache of other frozen models '
                              f'({"; ".join(diff) or "format"}); pass another --out')
        if meta['dtype'] != dtype:
            raise ConfigError(f'{root} stores image tokens as {meta["dtype"]}, asked {dtype}; '
                              'pass another --out or the same --dtype')

    # the model exactly as the Runner builds it: seeded first, then built
    randomness = cfg.get('randomness') or {}
    if randomness.get('seed') is not None:
        set_random_seed(randomness['seed'], deterministic=randomness.get('deterministic', False))
    with DefaultScope.overwrite_default_scope('tr2m'):
        model = MODELS.build(_plain(cfg.model))
    model.to(device).eval()
    frozen_model = _Model(model, device)
    neck_tokens = getattr(model.neck, 'text_tokens', 'pooled') == 'all'
    keep_tokens = neck_tokens if text_tokens is None else bool(text_tokens)
    widths = dict(frozen_model.widths)
    has_text = frozen_model.text is not None
    if meta is None:
        meta = dict(format=CACHE_FORMAT, frozen=frozen, frozen_digest=digest(frozen),
                    widths=widths, text_tokens=keep_tokens and has_text, dtype=dtype,
                    versions=_versions(), parts={})
    elif bool(meta.get('text_tokens')) != (keep_tokens and has_text):
        raise ConfigError(f'{root} was built with text_tokens={meta.get("text_tokens")}; '
                          'pass another --out or the same --text-tokens')

    # ---- plan: datasets, captions, shapes, bytes -----------------------------------------
    work = []
    total, written = 0, 0
    for pid, (loader_names, leaf, pspec) in plan.items():
        dataset = _build_dataset(leaf)
        data_root = leaf.get('data_root') or ''
        keys = [sample_key(dataset.get_data_info(i)['img_path'], data_root)
                for i in range(len(dataset))]
        if len(set(keys)) != len(keys):
            raise DataError(f'{pspec["dataset"]}: two samples share an image path; the cache '
                            'keys samples by image')
        captions = _captions(dataset, leaf['pipeline']) if has_text else []
        views = pspec['views']
        pipes = [view_pipeline(leaf['pipeline'], flip) for flip in views]
        probe = frozen_model.images([pipes[0](dataset.get_data_info(0))])[0]
        tokens_len = 77 if keep_tokens else 0  # an upper bound (CLIP's context length)
        nbytes = part_nbytes(len(keys), len(views), probe[0].shape, probe[1].shape, dtype,
                             len(captions), widths.get('text') or 0,
                             widths.get('text_tokens') or 0, tokens_len)
        part_meta = dict(keys=keys, views=views, dtype=dtype, widths=widths,
                         text_tokens=keep_tokens and has_text, chunk=batch_size,
                         text_chunk=text_batch_size, dataset=pspec['dataset'],
                         loaders=loader_names, identity=pspec['identity'],
                         identity_digest=pspec['identity_digest'],
                         preprocess=canonical(pspec['preprocess']), data_root=data_root)
        old = meta['parts'].get(pid)
        folder = osp.join(root, pid)
        if old is not None and osp.isfile(osp.join(folder, 'part.json')):
            stored = read_json(osp.join(folder, 'part.json'), 'part metadata')
            part_meta['chunk'], part_meta['text_chunk'] = stored['chunk'], stored['text_chunk']
            done = 0 if not osp.isfile(osp.join(folder, 'progress.json')) else sum(
                read_json(osp.join(folder, 'progress.json'), 'progress')['bytes'].values())
        else:
            done = 0
        total += nbytes
        written += done
        work.append((pid, pspec, dataset, pipes, captions, part_meta, nbytes, done))
        state = 'complete' if old and old.get('complete') else (
            f'resuming ({_gb(done)} written)' if done else 'new')
        log(f'{pid}: {pspec["dataset"]} [{", ".join(loader_names)}] {len(keys)} samples x '
            f'{len(views)} view(s) (flip {views}), Dr {probe[0].shape}, tokens '
            f'{probe[1].shape} {dtype}, {len(captions)} captions: {_gb(nbytes)} ({state})')
    os.makedirs(root, exist_ok=True)
    free = shutil.disk_usage(root).free
    need = max(total - written, 0)
    log(f'feature cache {root}: {_gb(total)} in all, {_gb(need)} still to write, '
        f'{_gb(free)} free')
    if need * DISK_MARGIN > free:
        raise DataError(f'not enough disk for the feature cache at {root}: it needs '
                        f'{_gb(need)} more (x{DISK_MARGIN} margin), {_gb(free)} free; free '
                        'space, pass --out on a larger disk, or --dtype int8')
    if dry_run:
        return meta

    # ---- compute ---------------------------------------------------------------------------
    from tqdm import tqdm

    for pid, _, dataset, pipes, captions, part_meta, _, _ in work:
        if (meta['parts'].get(pid) or {}).get('complete'):
            continue
        writer = PartWriter(osp.join(root, pid), part_meta, captions)
        meta['parts'][pid] = dict({k: part_meta[k] for k in (
            'dataset', 'loaders', 'identity', 'identity_digest', 'preprocess', 'views', 'dtype')},
            num_samples=len(part_meta['keys']), complete=False)
        _write_root_meta(root, meta)
        keep = part_meta['text_tokens']
        for k in tqdm(range(writer.progress['text_chunks'], writer.num_text_chunks),
                      desc=f'{pid} captions', unit='chunk', disable=not progress,
                      file=sys.stdout):
            pooled, tokens = frozen_model.captions(writer.text_chunk(k), keep)
            writer.write_text_chunk(k, pooled, tokens)
        start = writer.progress['image_chunks']
        bar = tqdm(total=len(part_meta['keys']), initial=min(start * writer.meta['chunk'],
                                                             len(part_meta['keys'])),
                   desc=f'{pid} images', unit='sample', disable=not progress, file=sys.stdout)
        for k in range(start, writer.num_image_chunks):
            indices = writer.chunk_indices(k)
            per_view = [frozen_model.images([pipe(dataset.get_data_info(i)) for i in indices])
                        for pipe in pipes]
            writer.write_image_chunk(k, [[per_view[v][j] for v in range(len(pipes))]
                                         for j in range(len(indices))])
            bar.update(len(indices))
        bar.close()
        finished = writer.finish()
        meta['parts'][pid].update(complete=True, bytes=finished['bytes'])
        _write_root_meta(root, meta)
        log(f'{pid}: done, {_gb(finished["bytes"])}')
    return meta
