"""Cache mode: a config with ``cache = dict(root=...)`` trains and tests from the feature cache.

:func:`apply_feature_cache` checks the config against the cache (the frozen fingerprint, then
every dataset's part: present, complete, same preprocessing), replaces the model's frozen
components by the cache readers of :mod:`tr2m.cache.readers` (so the frozen models are never
built and the model takes the encoder widths from the cache's metadata) and ends every
dataset's pipeline with ``LoadCachedFeatures``. The tools call it right after loading a config
(``tools/train.py``, ``tools/test.py``)::

    cfg = apply_feature_cache(load_config('configs/cache/tr2m_synthetic.py'))

A config without ``cache`` is returned unchanged; applying it twice changes nothing more (a
config dumped by a cache-mode run holds the readers already and is checked again as it is).
"""
import os.path as osp
from typing import Optional

from tr2m.cache.keys import (
    FROZEN_KEYS,
    cache_spec,
    canonical,
    describe_diff,
    frozen_fingerprint,
    plan_parts,
    type_name,
)
from tr2m.cache.store import read_cache_meta
from tr2m.utils.errors import ConfigError, DataError

#: Registered type of the cache reader that stands in for each frozen component.
READERS = dict(relative_depth='CachedRelativeDepth', image_encoder='CachedImageEncoder',
               text_encoder='CachedTextEncoder')


def check_frozen(meta: dict, cfg, root: str) -> None:
    """Refuse a config whose frozen models or their input differ from the cache's."""
    diff = describe_diff(meta['frozen'], canonical(frozen_fingerprint(cfg)))
    if diff:
        raise ConfigError(
            f'config {getattr(cfg, "filename", None) or "<config>"} does not match the feature '
            f'cache {root}: the frozen models differ ({"; ".join(diff)}). Rebuild the cache '
            'for this config (tools/cache_features.py CONFIG --out NEW_ROOT) or use its config')


def reads_cache(model_cfg: dict) -> bool:
    """Whether a model config's frozen components are cache readers already (all of them; a
    mixture is an error)."""
    present = [k for k in FROZEN_KEYS if model_cfg.get(k) is not None]
    readers = [k for k in present if type_name(model_cfg[k]) == READERS[k]]
    if readers and len(readers) != len(present):
        raise ConfigError(f'model: {readers} read the feature cache but '
                          f'{sorted(set(present) - set(readers))} are frozen models; cache mode '
                          'replaces all of them (set cache=dict(root=...) and keep the frozen '
                          "models' configs)")
    return bool(readers)


def cached_components(model_cfg: dict, root: str, frozen_digest: Optional[str] = None) -> dict:
    """The reader configs that replace the frozen components of ``model_cfg`` (its
    ``text_encoder`` only when it has one); ``frozen_digest`` is the cache's fingerprint the
    readers check (so a config dumped in cache mode refuses a cache of other frozen models)."""
    needed = ('relative_depth',) if model_cfg.get('image_tokens') == 'relative_depth' else (
        'relative_depth', 'image_encoder')  # shared tokens: the relative model gives them
    missing = [k for k in needed if model_cfg.get(k) is None]
    if missing:
        raise ConfigError(f'the feature cache serves models with frozen relative_depth and '
                          f'image_encoder (TR2M); model type {type_name(model_cfg)!r} has no '
                          f'{" and no ".join(missing)}')
    return {k: dict(type=READERS[k], root=root, frozen_digest=frozen_digest) for k in FROZEN_KEYS
            if model_cfg.get(k) is not None}


def _check_parts(cfg, meta: dict, root: str, name: str, deterministic) -> None:
    """Every dataset of the config is a complete part of the cache; appends
    ``LoadCachedFeatures`` to each dataset's pipeline (once)."""
    parts = meta.get('parts') or {}
    for loader, leaf, p in plan_parts(cfg, deterministic=deterministic):
        entry = parts.get(p['id'])
        if entry is None:
            same = [e for e in parts.values() if e.get('identity_digest') == p['identity_digest']]
            if same:
                diff = describe_diff(same[0]['preprocess'], canonical(p['preprocess']))
                raise ConfigError(
                    f'{p["dataset"]} ({loader}): its preprocessing differs from the feature '
                    f'cache {root} ({"; ".join(diff)}); rebuild the cache for this config')
            raise ConfigError(f'{p["dataset"]} ({loader}) is not in the feature cache {root}; '
                              f'build it with python tools/cache_features.py {name}')
        if not entry.get('complete'):
            raise DataError(f'{p["dataset"]} ({loader}): its part {p["id"]} of the feature cache '
                            f'{root} is incomplete; rerun tools/cache_features.py {name}')
        pipeline = leaf['pipeline']
        if not any(type_name(t) == 'LoadCachedFeatures' for t in pipeline):
            pipeline.append(dict(type='LoadCachedFeatures', folder=osp.join(root, p['id']),
                                 data_root=leaf.get('data_root') or ''))


def apply_feature_cache(cfg):
    """Switch a config with ``cache=dict(root=...)`` to cache mode, in place; returns it.

    Args:
        cfg (Config): a loaded config (``tr2m.utils.config.load_config``).

    Raises:
        MissingFileError: no cache at the root. ConfigError: frozen models or preprocessing
        differ (the message lists what), a dataset is not cached, or the model has no frozen
        image side (not TR2M). DataError: a part is incomplete.
    """
    spec = cache_spec(cfg)
    if spec is None:
        return cfg
    root = osp.abspath(spec['root'])
    name = getattr(cfg, 'filename', None) or 'CONFIG'
    meta = read_cache_meta(root, name)
    model = cfg.model
    model.pop('cache', None)  # configs dumped by older versions carried the mode here
    if not reads_cache(model):
        check_frozen(meta, cfg, root)
    else:
        asked = sorted({model[k].get('frozen_digest') for k in FROZEN_KEYS
                        if model.get(k) is not None} - {None, meta.get('frozen_digest')})
        if asked:
            raise ConfigError(f'config {name} reads a feature cache of other frozen models '
                              f'than {root} holds (fingerprint {asked[0]} vs '
                              f'{meta.get("frozen_digest")}); use the cache it was run with')
    _check_parts(cfg, meta, root, name, spec['deterministic_transforms'])
    for key, reader in cached_components(model, root, meta.get('frozen_digest')).items():
        model[key] = reader
    return cfg


__all__ = ['apply_feature_cache', 'cached_components', 'check_frozen', 'reads_cache', 'READERS']
