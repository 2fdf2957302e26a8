"""The frozen-feature cache, one wing: store (on-disk format), keys (what a cache is keyed
on), builder (``tools/cache_features.py``), mode (a config's ``cache=dict(root=...)``), the
transform ``LoadCachedFeatures`` and the model-side readers.

Layer: above ``tr2m.models`` and ``tr2m.datasets`` (it builds their components and registers a
transform and three model components), below ``tr2m.apis`` and ``tr2m.analysis``; nothing
below it imports it. Importing it registers ``LoadCachedFeatures`` (``TRANSFORMS``) and
``CachedRelativeDepth``, ``CachedImageEncoder``, ``CachedTextEncoder`` (``MODELS``); the
registries also find them through their ``locations``.
"""
from .builder import build_feature_cache
from .keys import cache_spec, default_cache_root, frozen_fingerprint, pipeline_views, plan_parts
from .mode import apply_feature_cache
from .readers import CachedImageEncoder, CachedRelativeDepth, CachedTextEncoder
from .store import CACHE_FORMAT, PartReader, PartWriter, read_cache_meta
from .transform import LoadCachedFeatures

__all__ = [
    'apply_feature_cache', 'build_feature_cache', 'cache_spec', 'default_cache_root',
    'frozen_fingerprint', 'pipeline_views', 'plan_parts', 'read_cache_meta', 'CACHE_FORMAT',
    'PartReader', 'PartWriter', 'LoadCachedFeatures', 'CachedRelativeDepth',
    'CachedImageEncoder', 'CachedTextEncoder'
]
