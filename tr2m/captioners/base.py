"""The captioner contract: images in, a list of captions per image out, each with its provenance.

::

    captioner.caption_images(images, keys) -> list[list[Caption]]

``images`` are RGB uint8 arrays ``(H, W, 3)``; ``keys`` name them (the image path relative to the
dataset's image folder, the key of the caption file). A captioner is deterministic for its
``seed``: the randomness of an image's captions comes from a generator seeded by
:func:`image_seed` ``(seed, key)``, never from the global RNG or the position in a batch, so
batched equals one by one, a resumed run equals an uninterrupted one, and N processes equal one.

Every :class:`Caption` carries the provenance dict of the source that wrote it (model id and
revision, prompt, generation settings, seed, preset name); :attr:`BaseCaptioner.sources` lists
those dicts in caption order, each with ``count``, the number of captions it writes per image.
An empty caption (a model that wrote nothing) is an empty ``text``: the caption job skips and
lists such an image instead of writing a file that names it without captions.
"""
import hashlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np


@dataclass(frozen=True)
class Caption:
    """One caption and the provenance of what wrote it (shared between captions of a source)."""

    text: str
    provenance: Dict = field(default_factory=dict, compare=False, hash=False)


def image_seed(seed: int, key: str, *salt) -> int:
    """A 63-bit seed of one image (and optional salt such as a caption index), stable across
    processes, batch compositions and Python versions (SHA-256, not ``hash()``)."""
    text = '\x00'.join([str(int(seed)), str(key)] + [str(s) for s in salt])
    return int.from_bytes(hashlib.sha256(text.encode('utf-8')).digest()[:8], 'big') >> 1


def clean_caption(text: str) -> str:
    """One line: runs of whitespace (newlines included) become one space; stripped."""
    return ' '.join(str(text).split())


def check_images(images: Sequence[np.ndarray], keys: Sequence[str]) -> None:
    """Raise ``ValueError`` unless there is one key per image and every image is RGB uint8."""
    if len(images) != len(keys):
        raise ValueError(f'{len(images)} images but {len(keys)} keys')
    for img, key in zip(images, keys):
        if img is None:
            continue
        if not (isinstance(img, np.ndarray) and img.ndim == 3 and img.shape[2] == 3
                and img.dtype == np.uint8):
            raise ValueError(f'image {key!r} must be an RGB uint8 array (H, W, 3), got '
                             f'{getattr(img, "dtype", type(img))} {getattr(img, "shape", "")}')


class BaseCaptioner:
    """Base of the captioners (see the module docstring for the contract).

    Args:
        seed (int): seed of every random choice. Defaults to 0.
        batch_size (int): images per forward pass of the captioner's model. Defaults to 1.
        name (str, optional): the preset name, recorded in the provenance. Defaults to the class
            name.
    """

    #: Whether the captioner looks at the pixels (the template captioner reads the key only).
    needs_pixels: bool = True

    def __init__(self, seed: int = 0, batch_size: int = 1, name: Optional[str] = None) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        self.name = name or type(self).__name__

    @property
    def sources(self) -> List[Dict]:
        """Provenance dicts in caption order, each with ``count``."""
        raise NotImplementedError

    @property
    def num_captions(self) -> int:
        """Captions per image."""
        return sum(int(s['count']) for s in self.sources)

    def caption_images(self, images: Sequence[Optional[np.ndarray]],
                       keys: Sequence[str]) -> List[List[Caption]]:
        """One list of :attr:`num_captions` captions per image (``images`` may hold None when
        :attr:`needs_pixels` is False)."""
        raise NotImplementedError

    def __call__(self, images, keys=None) -> List[List[Caption]]:
        """:meth:`caption_images` of one image or a list; keys default to ``image_<i>``."""
        single = isinstance(images, np.ndarray) and images.ndim == 3
        images = [images] if single else list(images)
        if keys is None:
            keys = [f'image_{i}' for i in range(len(images))]
        elif isinstance(keys, str):
            keys = [keys]
        return self.caption_images(images, list(keys))

    def to(self, device) -> 'BaseCaptioner':
        """Move the captioner's models to ``device`` (no-op without models)."""
        return self

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name={self.name!r}, seed={self.seed})'
