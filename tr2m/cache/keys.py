"""What the frozen-feature cache is keyed on, and which pipelines it can serve.

TR2M's frozen models (relative depth, image encoder, text encoder) give the same output for a
given image and caption in every epoch, and they are ~3/4 of a training step. The cache stores
their outputs once (``tools/cache_features.py``, :mod:`tr2m.cache.builder`); a config with
``cache = dict(root=...)`` then trains and tests from it (:mod:`tr2m.cache.mode`).

Keys (what must match for a cached value to be used):

- the **frozen fingerprint** (one per cache root): the configs of ``relative_depth``,
  ``image_encoder``, ``text_encoder`` (without keys that do not change outputs, e.g. the
  caption table's dtype) and of the data preprocessor, ``TR2M_RANDOM_INIT``, the size and
  modification time of every local weight file they name, and -- when any frozen part may have
  random weights (random init, ``pretrained=None``, or no ``pretrained`` key) -- the config's
  ``randomness.seed``, which then decides those weights;
- per dataset (a *part*): the dataset config without runtime-only keys (``pipeline``,
  ``test_mode``, ``indices``, protocol overrides...) and the **preprocessing**: every transform
  up to the network input, in order;
- per sample: its image path relative to ``data_root``; per view: the flip; per caption: its
  text (a 64-bit hash).

Supported augmentations: deterministic loading and geometry (``LoadRGBImage``, ``LoadDepth``,
``LoadRelativeDepth``, ``Resize``, ``KBCrop``, ``CenterCrop``) and ``RandomFlip``, cached as a
second view (ViT tokens are not flip-equivariant: the flipped image's tokens are computed, not
mirrored). ``RandomCrop`` is refused: a crop changes every ViT token (global attention,
re-interpolated position embeddings) and the relative-depth model's output (its normalisation
sees the whole crop), so the tokens of a crop are not a crop of the full image's tokens, and
caching every offset is (H - h + 1)(W - w + 1) views. Any other transform is refused unless the
config declares it deterministic (``cache.deterministic_transforms``); photometric
augmentations change the frozen models' input and cannot be cached.
"""
import copy
import hashlib
import json
import os
import os.path as osp
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from tr2m.cache.store import CACHE_FORMAT
from tr2m.utils.errors import ConfigError

FROZEN_KEYS = ('relative_depth', 'image_encoder', 'text_encoder')
#: Keys of a frozen component's config that do not change what it outputs.
OUTPUT_NEUTRAL_KEYS = ('caption_dtype', 'keep_tokens', 'caption_table', 'init_cfg', 'frozen')
#: Dataset-config keys that do not change which samples exist or what they hold.
DATASET_RUNTIME_KEYS = ('pipeline', 'test_mode', 'lazy_init', 'serialize_data', 'max_refetch',
                        'indices', 'protocol', 'protocols')
#: Transforms whose output the cache reproduces exactly (deterministic).
CACHE_SAFE_TRANSFORMS = ('LoadRGBImage', 'LoadDepth', 'LoadRelativeDepth', 'Resize', 'KBCrop',
                         'CenterCrop')
#: Transforms that do not touch the frozen models' input.
NOT_INPUT_TRANSFORMS = ('LoadCaption', 'PackDepthInputs', 'LoadCachedFeatures')
#: Transforms refused with the reason.
UNCACHEABLE_TRANSFORMS = {
    'RandomCrop': 'a random crop cannot be cached exactly: every ViT token of a crop changes '
                  '(global attention, position embeddings re-interpolated to the crop) and so '
                  "does the relative-depth model's output, so the crop's features are not a crop "
                  "of the full image's; use a deterministic Resize/CenterCrop in the cached "
                  'config, or train without the cache',
}
#: Dataloaders whose datasets a cache covers by default.
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


# ---- canonical forms and differences ---------------------------------------------------------
def canonical(obj: Any) -> Any:
    """A JSON-able form of a config value: dicts with sorted keys, tuples as lists, classes
    and functions by name."""
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, type) or callable(obj):
        return getattr(obj, '__name__', repr(obj))
    return repr(obj)


def digest(obj: Any) -> str:
    """16 hex digits of the SHA-256 of ``canonical(obj)``."""
    text = json.dumps(canonical(obj), sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe_diff(cached: Any, current: Any, path: str = '') -> List[str]:
    """Human-readable differences ``path: cached X, config Y`` between two canonical values."""
    if isinstance(cached, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(cached) | set(current)):
            sub = f'{path}.{key}' if path else key
            if key not in cached:
                out.append(f'{sub}: not in the cache, config {current[key]!r}')
            elif key not in current:
                out.append(f'{sub}: cache {cached[key]!r}, not in the config')
            else:
                out += describe_diff(cached[key], current[key], sub)
        return out
    nested = isinstance(cached, list) and any(isinstance(v, (dict, list)) for v in cached)
    if nested and isinstance(current, list) and len(cached) == len(current):
        out = []
        for i, (a, b) in enumerate(zip(cached, current)):
            out += describe_diff(a, b, f'{path}[{i}]')
        return out
    if cached != current:
        return [f'{path or "<value>"}: cache {cached!r}, config {current!r}']
    return []


# ---- the frozen fingerprint ------------------------------------------------------------------
def _random_init_requested() -> bool:
    from tr2m.models.pretrained import random_init_requested  # imported when first needed

    return random_init_requested()


def _file_stats(path: str) -> Any:
    """``[size, mtime_ns]`` of a file, or those of every file under a folder (by relpath)."""
    if osp.isfile(path):
        st = os.stat(path)
        return [st.st_size, st.st_mtime_ns]
    out = {}
    for folder, _, files in os.walk(path):
        for name in sorted(files):
            full = osp.join(folder, name)
            st = os.stat(full)
            out[osp.relpath(full, path)] = [st.st_size, st.st_mtime_ns]
    return out


def _local_paths(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for v in node.values():
            yield from _local_paths(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _local_paths(v)
    elif isinstance(node, str) and os.sep in node and osp.exists(node):
        yield node


def _may_have_random_weights(component: dict) -> bool:
    if not isinstance(component, dict):
        return False
    return 'pretrained' not in component or component['pretrained'] is None


def frozen_fingerprint(cfg) -> dict:
    """What the cached values of one cache root depend on (see the module docstring)."""
    model = _plain(cfg.get('model') or {})
    parts = {}
    for key in FROZEN_KEYS:
        comp = model.get(key)
        if isinstance(comp, dict):
            comp = {k: v for k, v in comp.items() if k not in OUTPUT_NEUTRAL_KEYS}
        parts[key] = canonical(comp)
    random_init = _random_init_requested()
    random_weights = random_init or any(_may_have_random_weights(model.get(k))
                                        for k in FROZEN_KEYS if model.get(k) is not None)
    seed = (cfg.get('randomness') or {}).get('seed') if random_weights else None
    files = {p: _file_stats(p) for k in FROZEN_KEYS for p in _local_paths(model.get(k))}
    return dict(
        format=CACHE_FORMAT, model=canonical(model.get('type')),
        data_preprocessor=canonical(model.get('data_preprocessor')
                                    or dict(type='DepthDataPreprocessor')),
        random_init=random_init, random_weights=random_weights, seed=seed, weight_files=files,
        **parts)


def _plain(node: Any) -> Any:
    """A ConfigDict tree as plain dicts and lists (deep copy)."""
    if hasattr(node, 'to_dict'):
        node = node.to_dict()
    return copy.deepcopy(node)


# ---- pipelines, parts ------------------------------------------------------------------------
def type_name(t: Any) -> str:
    """The registered type name of a config dict (or of a built object)."""
    name = t.get('type') if isinstance(t, dict) else type(t).__name__
    return name if isinstance(name, str) else getattr(name, '__name__', repr(name))


def pipeline_views(pipeline: Sequence[Any], where: str,
                   deterministic: Sequence[str] = ()) -> Tuple[list, List[bool]]:
    """The preprocessing fingerprint of a pipeline and the views it needs.

    Args:
        pipeline (Sequence): transform configs.
        where (str): the dataset, for messages.
        deterministic (Sequence[str]): extra transform types the config declares deterministic.

    Returns:
        tuple[list, list[bool]]: canonical transforms up to the network input (``RandomFlip``
        as a marker at its position) and the cached views (``[False]``, ``[True]`` or
        ``[False, True]`` for flip probabilities 0, 1, in between).

    Raises:
        ConfigError: a transform the cache cannot reproduce.
    """
    steps, views, flips = [], [False], 0
    for t in pipeline:
        name = type_name(t)
        if name in NOT_INPUT_TRANSFORMS:
            continue
        if name == 'RandomFlip':
            flips += 1
            prob = float(t.get('prob', 0.5)) if isinstance(t, dict) else float(t.prob)
            views = [False] if prob == 0 else [True] if prob == 1 else [False, True]
            steps.append(dict(type='RandomFlip'))
        elif name in UNCACHEABLE_TRANSFORMS:
            raise ConfigError(f'{where}: {name} cannot be cached: '
                              f'{UNCACHEABLE_TRANSFORMS[name]}')
        elif name in CACHE_SAFE_TRANSFORMS or name in deterministic:
            steps.append(canonical(t if isinstance(t, dict) else dict(type=name)))
        else:
            raise ConfigError(
                f'{where}: transform {name} is not known to be deterministic, so its output '
                f'cannot be cached. The cache supports {", ".join(CACHE_SAFE_TRANSFORMS)} and '
                "RandomFlip (two views); declare a deterministic transform with "
                f"cache=dict(deterministic_transforms=['{name}'])")
    if flips > 1:
        raise ConfigError(f'{where}: {flips} RandomFlip transforms; the cache supports one')
    return steps, views


def dataset_leaves(dataset_cfg: Any) -> List[dict]:
    """The dataset configs with a pipeline under ``dataset_cfg`` (``dataset`` wrappers and
    ``datasets`` lists followed), in order; the dicts themselves, not copies."""
    if not isinstance(dataset_cfg, dict):
        return []
    if 'pipeline' in dataset_cfg:
        return [dataset_cfg]
    if isinstance(dataset_cfg.get('dataset'), dict):
        return dataset_leaves(dataset_cfg['dataset'])
    out = []
    for sub in dataset_cfg.get('datasets') or []:
        out += dataset_leaves(sub)
    return out


def describe_dataset(leaf: dict) -> str:
    """``Type(split=..., ann_file=..., data_root=...)`` of a dataset config, for messages."""
    bits = [f'{k}={leaf[k]!r}' for k in ('split', 'ann_file', 'data_root') if leaf.get(k)]
    return f"{type_name(leaf)}({', '.join(bits)})"


def part_spec(leaf: dict, deterministic: Sequence[str] = ()) -> dict:
    """Id, identity, preprocessing and views of one dataset's part of the cache."""
    leaf = _plain(leaf)
    identity = canonical({k: v for k, v in leaf.items() if k not in DATASET_RUNTIME_KEYS})
    steps, views = pipeline_views(leaf.get('pipeline') or [], describe_dataset(leaf),
                                  deterministic)
    preprocess = dict(transforms=steps, views=views)
    return dict(id=f'{type_name(leaf)}-{digest([identity, preprocess])[:12]}',
                identity=identity, identity_digest=digest(identity), preprocess=preprocess,
                views=views, dataset=describe_dataset(leaf))


def cache_spec(cfg) -> Optional[dict]:
    """The config's ``cache`` as ``dict(root, dtype, deterministic_transforms)``, or None."""
    spec = cfg.get('cache')
    if not spec:
        return None
    if isinstance(spec, str):
        spec = dict(root=spec)
    spec = _plain(spec)
    unknown = set(spec) - {'root', 'dtype', 'deterministic_transforms'}
    if unknown or not spec.get('root'):
        raise ConfigError(f'cache must be a root folder or dict(root=..., dtype=..., '
                          f'deterministic_transforms=[...]); got {spec!r}')
    spec.setdefault('dtype', 'float16')
    spec['deterministic_transforms'] = list(spec.get('deterministic_transforms') or [])
    return spec


def plan_parts(cfg, loaders: Sequence[str] = LOADERS,
               deterministic: Sequence[str] = ()) -> List[Tuple[str, dict, dict]]:
    """``(loader, leaf config, part spec)`` of every dataset of the given loaders."""
    out = []
    for loader in loaders:
        node = cfg.get(loader)
        if not node:
            continue
        for leaf in dataset_leaves(node.get('dataset')):
            out.append((loader, leaf, part_spec(leaf, deterministic)))
    return out


def default_cache_root(cfg) -> str:
    """``cache.root`` of the config, else ``work_dirs/cache/<config name>``."""
    spec = cache_spec(cfg)
    if spec is not None:
        return spec['root']
    name = osp.splitext(osp.basename(getattr(cfg, 'filename', None) or 'config'))[0]
    return osp.join('work_dirs', 'cache', name)


def parts_by_id(plan: Sequence[Tuple[str, dict, dict]]) -> Dict[str, Tuple[List[str], dict, dict]]:
    """Deduplicate a plan: ``part id -> (loaders, leaf, spec)`` (val and test often share)."""
    out: Dict[str, Tuple[List[str], dict, dict]] = {}
    for loader, leaf, spec in plan:
        if spec['id'] in out:
            out[spec['id']][0].append(loader)
        else:
            out[spec['id']] = ([loader], leaf, spec)
    return out
