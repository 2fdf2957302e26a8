"""Compute and store the frozen models' outputs for every sample of a config (the cache tool).

``build_feature_cache(cfg)`` builds the config's model exactly as training does (same seed, so
random frozen weights are the training run's), then for every dataset of the train / val /
test loaders: embeds each distinct caption once, and runs the relative-depth model and the
image encoder on every sample in every view (flip), chunk by chunk, into a resumable
:class:`~tr2m.cache.store.PartWriter`. Before writing it prints what each part will take on
disk and refuses when the disk is short. The steps, in order:

1. :func:`open_root`: the root's ``cache.json`` (a new one, or an existing one of the same
   frozen fingerprint and dtype, which is resumed);
2. :func:`build_frozen_models`: the model, seeded and built as the Runner builds it;
3. :func:`plan_part` for each part: its dataset, views, captions, sizes and what is written;
4. :func:`check_disk`: the bytes still to write against the free disk;
5. :func:`write_part` for each part not complete: captions, then images, chunk by chunk.

See :mod:`tr2m.cache.keys` for the keys and the supported augmentations.
"""
import copy
import importlib
import os
import os.path as osp
import shutil
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from tr2m.cache.keys import (
    LOADERS,
    NOT_INPUT_TRANSFORMS,
    _plain,
    cache_spec,
    canonical,
    default_cache_root,
    describe_diff,
    digest,
    frozen_fingerprint,
    parts_by_id,
    plan_parts,
    type_name,
)
from tr2m.cache.store import (
    CACHE_FILE,
    CACHE_FORMAT,
    STORAGE_DTYPES,
    PartWriter,
    read_json,
    sample_key,
    write_cache_meta,
)
from tr2m.utils.errors import ArgumentError, ConfigError, DataError

#: Free-disk margin kept when checking the space a cache needs.
DISK_MARGIN = 1.02
#: Upper bound of the caption tokens kept per caption (CLIP's context length).
MAX_CAPTION_TOKENS = 77


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
        name = type_name(t)
        if name in NOT_INPUT_TRANSFORMS and name != 'PackDepthInputs':
            continue
        cfg = copy.deepcopy(_plain(t))
        if name == 'RandomFlip':
            cfg['prob'] = 1.0 if flip else 0.0  # also sets results['flip'] as in training
        out.append(TRANSFORMS.build(cfg))
    if not out or type_name(out[-1]) != 'PackDepthInputs':
        out.append(TRANSFORMS.build(dict(type='PackDepthInputs')))
    return Compose(out)


def dataset_captions(dataset, pipeline: Sequence) -> List[str]:
    """Every distinct non-empty caption of a dataset (first-seen order), plus the
    ``LoadCaption`` fallback of the pipeline."""
    seen = OrderedDict()
    for i in range(len(dataset)):
        for c in dataset.get_data_info(i).get('captions') or []:
            if isinstance(c, str) and c.strip():
                seen[c] = None
    for t in pipeline:
        if type_name(t) == 'LoadCaption' and isinstance(t, dict) and t.get('fallback'):
            seen[t['fallback']] = None
    return list(seen)


def build_dataset(leaf: dict):
    """A dataset config built without pipeline and with every sample (a subset may change)."""
    from tr2m.registry import DATASETS

    cfg = _plain(leaf)
    cfg['pipeline'] = []
    cfg.pop('indices', None)
    return DATASETS.build(cfg)


class FrozenModels:
    """The frozen parts of a built TR2M, as the builder (and the benchmark) calls them.

    Args:
        model (nn.Module): an uncached TR2M (``frozen_image_features``, ``text_encoder``,
            ``frozen_widths``).
        device (str): where it runs.
    """

    def __init__(self, model, device) -> None:
        if not hasattr(model, 'frozen_image_features'):
            raise ConfigError(f'the feature cache serves TR2M models; {type(model).__name__} '
                              'has no frozen_image_features')
        self.model = model
        self.device = device
        self.text = model.text_encoder
        self.widths = dict(model.frozen_widths)

    @torch.no_grad()
    def images(self, packed: List[dict]) -> List[Tuple[np.ndarray, np.ndarray]]:
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
        """Pooled ``(n, D')`` float32 embeddings and, with ``keep_tokens``, one ``(T_i, D')``
        array per caption (the encoder's raw forward, no caption table)."""
        emb = self.text._encode(captions)
        pooled = emb.pooled.float().cpu().numpy()
        tokens = None
        if keep_tokens:
            lengths = emb.mask.sum(1).tolist()
            tokens = [emb.tokens[i, :int(n)].float().cpu().numpy() for i, n in enumerate(lengths)]
        return pooled, tokens


def build_frozen_models(cfg, device: str) -> FrozenModels:
    """The config's model exactly as the Runner builds it (seeded first, then built), in eval
    mode on ``device``."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import set_random_seed

    from tr2m.registry import MODELS

    randomness = cfg.get('randomness') or {}
    if randomness.get('seed') is not None:
        set_random_seed(randomness['seed'], deterministic=randomness.get('deterministic', False))
    with DefaultScope.overwrite_default_scope('tr2m'):
        model = MODELS.build(_plain(cfg.model))
    model.to(device).eval()
    return FrozenModels(model, device)


def versions() -> dict:
    """Versions of the libraries the frozen outputs depend on (recorded in ``cache.json``)."""
    out = dict(torch=torch.__version__)
    for name in ('transformers', 'open_clip', 'tr2m'):
        try:
            out[name] = getattr(importlib.import_module(name), '__version__', '?')
        except ImportError:
            out[name] = None
    return out


def open_root(root: str, frozen: dict, dtype: str) -> Optional[dict]:
    """The existing ``cache.json`` of ``root`` (None for a new root); a root of other frozen
    models, format or dtype is refused."""
    meta_path = osp.join(root, CACHE_FILE)
    if not osp.isfile(meta_path):
        return None
    meta = read_json(meta_path, 'feature-cache metadata')
    diff = describe_diff(meta['frozen'], frozen)
    if meta.get('format') != CACHE_FORMAT or diff:
        raise ConfigError(f'{root} holds a feature cache of other frozen models '
                          f'({"; ".join(diff) or "format"}); pass another --out')
    if meta['dtype'] != dtype:
        raise ConfigError(f'{root} stores image tokens as {meta["dtype"]}, asked {dtype}; '
                          'pass another --out or the same --dtype')
    return meta


@dataclass
class PartPlan:
    """One part to build: its id, spec, dataset, per-view pipelines, captions, ``part.json``
    contents, the shapes of one sample's ``Dr`` and tokens, size on disk and bytes already
    written."""

    pid: str
    spec: dict
    dataset: object
    pipes: list
    captions: List[str]
    meta: dict
    shapes: Tuple[tuple, tuple]
    nbytes: int
    done: int


def _written(folder: str, meta: dict) -> int:
    """Bytes a part's earlier run committed (0 for a new part); the chunk sizes of a started
    part are kept in ``meta``."""
    if not osp.isfile(osp.join(folder, 'part.json')):
        return 0
    stored = read_json(osp.join(folder, 'part.json'), 'part metadata')
    meta['chunk'], meta['text_chunk'] = stored['chunk'], stored['text_chunk']
    progress = osp.join(folder, 'progress.json')
    return sum(read_json(progress, 'progress')['bytes'].values()) if osp.isfile(progress) else 0


def plan_part(pid: str, loaders: List[str], leaf: dict, spec: dict, frozen: FrozenModels,
              root_meta: dict, folder: str, dtype: str, keep_tokens: bool, batch_size: int,
              text_batch_size: int) -> PartPlan:
    """Everything about one part before anything is written (one sample runs, to size it)."""
    dataset = build_dataset(leaf)
    data_root = leaf.get('data_root') or ''
    keys = [sample_key(dataset.get_data_info(i)['img_path'], data_root)
            for i in range(len(dataset))]
    if len(set(keys)) != len(keys):
        raise DataError(f'{spec["dataset"]}: two samples share an image path; the cache keys '
                        'samples by image')
    captions = dataset_captions(dataset, leaf['pipeline']) if frozen.text is not None else []
    views = spec['views']
    pipes = [view_pipeline(leaf['pipeline'], flip) for flip in views]
    rel, img = frozen.images([pipes[0](dataset.get_data_info(0))])[0]
    widths = frozen.widths
    nbytes = part_nbytes(len(keys), len(views), rel.shape, img.shape, dtype, len(captions),
                         widths.get('text') or 0, widths.get('text_tokens') or 0,
                         MAX_CAPTION_TOKENS if keep_tokens else 0)
    meta = dict(keys=keys, views=views, dtype=dtype, widths=widths, text_tokens=keep_tokens,
                chunk=batch_size, text_chunk=text_batch_size, dataset=spec['dataset'],
                loaders=loaders, identity=spec['identity'],
                identity_digest=spec['identity_digest'],
                preprocess=canonical(spec['preprocess']), data_root=data_root)
    done = _written(folder, meta) if pid in root_meta['parts'] else 0
    return PartPlan(pid, spec, dataset, pipes, captions, meta, (rel.shape, img.shape), nbytes,
                    done)


def describe_plan(plan: PartPlan, complete: bool) -> str:
    """One log line: dataset, loaders, samples x views, shapes, captions, size, state."""
    state = 'complete' if complete else (f'resuming ({_gb(plan.done)} written)' if plan.done
                                         else 'new')
    m = plan.meta
    return (f'{plan.pid}: {plan.spec["dataset"]} [{", ".join(m["loaders"])}] '
            f'{len(m["keys"])} samples x {len(m["views"])} view(s) (flip {m["views"]}), '
            f'Dr {plan.shapes[0]}, tokens {plan.shapes[1]} {m["dtype"]}, {len(plan.captions)} '
            f'captions: {_gb(plan.nbytes)} ({state})')


def check_disk(root: str, plans: Sequence[PartPlan], log: Callable[[str], None]) -> None:
    """Log the total and what is still to write; refuse when the free disk is short."""
    os.makedirs(root, exist_ok=True)
    total = sum(p.nbytes for p in plans)
    free = shutil.disk_usage(root).free
    need = max(total - sum(p.done for p in plans), 0)
    log(f'feature cache {root}: {_gb(total)} in all, {_gb(need)} still to write, '
        f'{_gb(free)} free')
    if need * DISK_MARGIN > free:
        raise DataError(f'not enough disk for the feature cache at {root}: it needs '
                        f'{_gb(need)} more (x{DISK_MARGIN} margin), {_gb(free)} free; free '
                        'space, pass --out on a larger disk, or --dtype int8')


def write_part(root: str, root_meta: dict, plan: PartPlan, frozen: FrozenModels,
               progress: bool = True) -> int:
    """Compute and store one part (resuming its committed chunks); returns its bytes."""
    from tqdm import tqdm

    writer = PartWriter(osp.join(root, plan.pid), plan.meta, plan.captions)
    root_meta['parts'][plan.pid] = dict({k: plan.meta[k] for k in (
        'dataset', 'loaders', 'identity', 'identity_digest', 'preprocess', 'views', 'dtype')},
        num_samples=len(plan.meta['keys']), complete=False)
    write_cache_meta(root, root_meta)
    for k in tqdm(range(writer.progress['text_chunks'], writer.num_text_chunks),
                  desc=f'{plan.pid} captions', unit='chunk', disable=not progress,
                  file=sys.stdout):
        pooled, tokens = frozen.captions(writer.text_chunk(k), plan.meta['text_tokens'])
        writer.write_text_chunk(k, pooled, tokens)
    num, start = len(plan.meta['keys']), writer.progress['image_chunks']
    bar = tqdm(total=num, initial=min(start * writer.meta['chunk'], num),
               desc=f'{plan.pid} images', unit='sample', disable=not progress, file=sys.stdout)
    for k in range(start, writer.num_image_chunks):
        indices = writer.chunk_indices(k)
        per_view = [frozen.images([pipe(plan.dataset.get_data_info(i)) for i in indices])
                    for pipe in plan.pipes]
        writer.write_image_chunk(k, [[views[j] for views in per_view]
                                     for j in range(len(indices))])
        bar.update(len(indices))
    bar.close()
    finished = writer.finish()
    root_meta['parts'][plan.pid].update(complete=True, bytes=finished['bytes'])
    write_cache_meta(root, root_meta)
    return finished['bytes']


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
    spec = cache_spec(cfg) or {}
    root = osp.abspath(root or default_cache_root(cfg))
    dtype = dtype or spec.get('dtype', 'float16')
    if dtype not in STORAGE_DTYPES:
        raise ArgumentError(f'--dtype must be one of {STORAGE_DTYPES}, got {dtype!r}')
    if batch_size < 1 or text_batch_size < 1:
        raise ArgumentError('batch sizes must be >= 1')
    fingerprint = canonical(frozen_fingerprint(cfg))
    if fingerprint['random_weights'] and fingerprint['seed'] is None:
        raise ConfigError('frozen models with random weights (random init, pretrained=None) '
                          'depend on the seed: set randomness=dict(seed=...) in the config to '
                          'cache them')
    todo = parts_by_id(plan_parts(cfg, loaders, spec.get('deterministic_transforms', ())))
    if not todo:
        raise ConfigError(f'no dataset with a pipeline under {list(loaders)} of the config')
    meta = open_root(root, fingerprint, dtype)

    frozen = build_frozen_models(cfg, device)
    has_text = frozen.text is not None
    wants_tokens = getattr(frozen.model.neck, 'text_tokens', 'pooled') == 'all'
    keep_tokens = (wants_tokens if text_tokens is None else bool(text_tokens)) and has_text
    if meta is None:
        meta = dict(format=CACHE_FORMAT, frozen=fingerprint, frozen_digest=digest(fingerprint),
                    widths=dict(frozen.widths), text_tokens=keep_tokens, dtype=dtype,
                    versions=versions(), parts={})
    elif bool(meta.get('text_tokens')) != keep_tokens:
        raise ConfigError(f'{root} was built with text_tokens={meta.get("text_tokens")}; '
                          'pass another --out or the same --text-tokens')

    plans = []
    for pid, (loader_names, leaf, pspec) in todo.items():
        plan = plan_part(pid, loader_names, leaf, pspec, frozen, meta, osp.join(root, pid),
                         dtype, keep_tokens, batch_size, text_batch_size)
        log(describe_plan(plan, bool((meta['parts'].get(pid) or {}).get('complete'))))
        plans.append(plan)
    check_disk(root, plans, log)
    if dry_run:
        return meta
    for plan in plans:
        if (meta['parts'].get(plan.pid) or {}).get('complete'):
            continue
        log(f'{plan.pid}: done, {_gb(write_part(root, meta, plan, frozen, progress))}')
    return meta
