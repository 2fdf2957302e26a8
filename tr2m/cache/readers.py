"""The cache readers: what stands in for TR2M's frozen models in cache mode.

Each reader has the call of the frozen component it replaces and takes its output from the
feature cache instead of computing it, so a cache-mode ``TR2M`` runs the very code of an
uncached one (:func:`tr2m.cache.mode.apply_feature_cache` puts them in the config):

- :class:`CachedRelativeDepth`: ``(images, data_samples) -> Dr (B, 1, H, W)``, each sample's
  ``rel_depth`` (attached by ``LoadCachedFeatures``); for TR2M's shared tokens
  (``image_tokens='relative_depth'``) also ``forward_with_tokens``, with the samples'
  ``img_feats``;
- :class:`CachedImageEncoder`: ``(images, data_samples) -> (B, D, h, w)``, each sample's
  ``img_feats`` (attached by ``LoadCachedFeatures``, float16 or dequantised int8 on disk);
- :class:`CachedTextEncoder`: ``captions -> TextEmbedding``, each caption looked up in the
  caption tables of the cache's parts (the cache's text side is a caption table on disk).

They report the encoder widths (``out_channels``, ``token_channels``) from the cache's
``cache.json``, hold no parameters (nothing of them is in a checkpoint) and never compute a
feature: a sample or caption the cache does not hold is an error naming the image or caption
and what is missing.
"""
import os.path as osp
from typing import List, Optional, Sequence

import torch
from torch import Tensor, nn

from tr2m.cache.store import PartReader, read_cache_meta
from tr2m.models.encoders.text_base import TextEmbedding, check_captions, stack_embeddings
from tr2m.models.layers.precision import autocast_off
from tr2m.registry import MODELS
from tr2m.utils.errors import ConfigError, DataError

_HINT = ("its pipeline must end with LoadCachedFeatures (configs get it from "
         "cache=dict(root=...), applied by tr2m.cache.apply_feature_cache)")


class CacheReader(nn.Module):
    """What the three readers share: the cache root, its metadata and a device marker.

    Args:
        root (str): the cache root (holding ``cache.json``).
        frozen_digest (str, optional): the frozen fingerprint the cache must have been built
            with (``apply_feature_cache`` records it, so a config dumped in cache mode refuses
            a cache of other frozen models). Defaults to None (not checked).
    """

    def __init__(self, root: str, frozen_digest: Optional[str] = None) -> None:
        super().__init__()
        self.root = osp.abspath(root)
        self.meta = read_cache_meta(self.root)
        if frozen_digest is not None and self.meta.get('frozen_digest') != frozen_digest:
            raise ConfigError(f'the feature cache {self.root} holds the outputs of other frozen '
                              f'models (fingerprint {self.meta.get("frozen_digest")}, the config '
                              f'asks {frozen_digest}); rebuild it with tools/cache_features.py')
        self.widths = dict(self.meta.get('widths') or {})
        # follows .to(device); not a parameter, not in the state dict
        self.register_buffer('_device_marker', torch.empty(0), persistent=False)

    def _samples(self, data_samples: Optional[Sequence], what: str) -> Sequence:
        if not data_samples:
            raise DataError(f'{type(self).__name__} reads {what} from the data samples of the '
                            f'feature cache {self.root}, but no data samples were given')
        return data_samples

    def extra_repr(self) -> str:
        return f'root={self.root!r}'


def _path(sample) -> str:
    return sample.metainfo.get('img_path', '<no img_path>')


@MODELS.register_module()
class CachedImageEncoder(CacheReader):
    """Image tokens from the feature cache, ``(images, data_samples) -> (B, D, h, w)`` float32.

    A sample whose tokens are of the other view than its ``flip`` (a flip applied after
    ``LoadCachedFeatures``, e.g. flip test-time augmentation) is refused: ViT tokens are not
    flip-equivariant, so mirroring them would not give the flipped image's tokens.

    Args:
        root (str): the cache root.
        frozen_digest (str, optional): see :class:`CacheReader`. Defaults to None.
    """

    def __init__(self, root: str, frozen_digest: Optional[str] = None) -> None:
        super().__init__(root, frozen_digest)
        if not self.widths.get('image'):
            raise ConfigError(f'the feature cache {self.root} records no image-token width '
                              "(cache.json widths.image); rebuild it with tools/cache_features.py")
        self.out_channels = int(self.widths['image'])

    def forward(self, images: Tensor, data_samples: Optional[Sequence] = None) -> Tensor:
        feats = []
        for s in self._samples(data_samples, 'image tokens'):
            if 'img_feats' not in s:
                raise DataError(f'{_path(s)}: no cached image tokens (img_feats) from the '
                                f'feature cache {self.root}; {_HINT}')
            flip = bool(s.metainfo.get('flip', False))
            if bool(s.metainfo.get('cached_flip', flip)) != flip:
                raise DataError(f'{_path(s)}: its cached image tokens are of the '
                                f'{"un" if flip else ""}flipped view but the sample is '
                                f'{"" if flip else "un"}flipped (flipped after '
                                'LoadCachedFeatures, e.g. --flip-test): test without the cache')
            feats.append(s.img_feats)
        with autocast_off():  # float16 storage; CPU autocast refuses to stack it
            stacked = torch.stack(feats).to(images.device)
        return stacked.float()  # (B, D, h, w)


@MODELS.register_module()
class CachedRelativeDepth(CacheReader):
    """Relative inverse depth ``Dr`` from the feature cache, ``(images, data_samples) ->
    (B, 1, H, W)`` float32.

    Args:
        root (str): the cache root.
        frozen_digest (str, optional): see :class:`CacheReader`. Defaults to None.
    """

    def __init__(self, root: str, frozen_digest: Optional[str] = None) -> None:
        super().__init__(root, frozen_digest)
        self._tokens = None  # the token reader, made on first use (shared tokens)

    def forward(self, images: Tensor, data_samples: Optional[Sequence] = None) -> Tensor:
        size = tuple(images.shape[-2:])
        out = []
        for s in self._samples(data_samples, 'relative depth'):
            if 'rel_depth' not in s:
                raise DataError(f'{_path(s)}: no cached relative depth (rel_depth) from the '
                                f'feature cache {self.root}; {_HINT}')
            if tuple(s.rel_depth.shape) != size:
                raise DataError(f'{_path(s)}: cached relative depth has size '
                                f'{tuple(s.rel_depth.shape)} but the network input is {size}; '
                                'the cache was built with other preprocessing, rebuild it')
            out.append(s.rel_depth.data)
        return torch.stack(out).to(images).float()  # (B, 1, H, W)

    @property
    def token_channels(self) -> Optional[int]:
        """The cached image-token width (the relative model's, for shared tokens)."""
        width = self.widths.get('image')
        return int(width) if width else None

    def forward_with_tokens(self, images: Tensor, data_samples: Optional[Sequence] = None):
        """``Dr`` and the cached tokens of a cache of TR2M with shared tokens (what
        ``TransformersRelativeDepth.forward_with_tokens`` computed)."""
        if self._tokens is None:
            self._tokens = CachedImageEncoder(self.root)
        return self(images, data_samples), self._tokens(images, data_samples)


@MODELS.register_module()
class CachedTextEncoder(CacheReader):
    """Caption embeddings from the caption tables of the feature cache, ``captions ->
    TextEmbedding`` float32 (the call of the frozen text encoders).

    Each caption is looked up (by a 64-bit hash) in the complete parts of the cache, in part
    order; per-token states come back when ``keep_tokens`` is set (TR2M sets it for a neck with
    ``text_tokens='all'``), which needs a cache built with them.

    Args:
        root (str): the cache root.
        frozen_digest (str, optional): see :class:`CacheReader`. Defaults to None.
    """

    def __init__(self, root: str, frozen_digest: Optional[str] = None) -> None:
        super().__init__(root, frozen_digest)
        if not self.widths.get('text'):
            raise ConfigError(f'the feature cache {self.root} holds no caption embeddings (built '
                              'for a model without text encoder); rebuild it with this config')
        self.out_channels = int(self.widths['text'])
        self.token_channels = (int(self.widths['text_tokens'])
                               if self.widths.get('text_tokens') else None)
        self.stores_tokens = bool(self.meta.get('text_tokens'))
        self._keep_tokens = False
        self._parts: Optional[List[PartReader]] = None

    @property
    def keep_tokens(self) -> bool:
        """Whether per-token states are returned (pooled embeddings always are)."""
        return self._keep_tokens

    @keep_tokens.setter
    def keep_tokens(self, value: bool) -> None:
        if value and not self.stores_tokens:
            raise ConfigError(f"the neck attends over every text token (text_tokens='all') but "
                              f'the feature cache {self.root!r} holds pooled caption embeddings '
                              'only; rebuild it with this config')
        self._keep_tokens = bool(value)

    @property
    def parts(self) -> List[PartReader]:
        """Readers of the complete parts of the cache (opened on first use)."""
        if self._parts is None:
            self._parts = [PartReader(osp.join(self.root, pid))
                           for pid, entry in sorted((self.meta.get('parts') or {}).items())
                           if entry.get('complete')]
        return self._parts

    def forward(self, captions: List[str]) -> TextEmbedding:
        captions = check_captions(captions, type(self).__name__)
        pooled, tokens = [], []
        for caption in captions:
            found = next((f for f in (p.find_text(caption) for p in self.parts)
                          if f is not None), None)
            if found is None:
                raise DataError(f'caption {caption!r} is not in the feature cache {self.root} '
                                f'({len(self.parts)} parts): the captions changed since '
                                'caching; rebuild it with tools/cache_features.py')
            pooled.append(torch.from_numpy(found[0]))
            tokens.append(None if found[1] is None else torch.from_numpy(found[1]))
        emb = stack_embeddings(pooled, tokens if self.keep_tokens else None,
                               self.token_channels or 0)
        device = self._device_marker.device
        return TextEmbedding(emb.pooled.to(device).float(), emb.tokens.to(device).float(),
                             emb.mask.to(device))


__all__ = ['CacheReader', 'CachedRelativeDepth', 'CachedImageEncoder', 'CachedTextEncoder']
