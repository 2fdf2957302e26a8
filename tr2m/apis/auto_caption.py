"""Captions for images given without one: ``infer.py --caption auto`` and the inference API.

The default captioner (``'auto'``) follows the device: with CUDA, the paper's captioner for images
it has not seen (LLaVA v1.6 Vicuna-7B, ``llava_v16_vicuna``: ~15 GB of bfloat16 weights); without
CUDA, ``smolvlm_256m`` (SmolVLM-256M, one 512x512 tile, seconds per caption on a CPU core; the
figures are in docs/user_guides/captions.md), because a 7B model takes minutes per caption on a
CPU. Name a preset to choose another (``--captioner``). An image's caption is the first
caption the captioner writes for it (the evaluation convention, caption index 0), keyed by the
image's file name, so it does not depend on the other images.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from tr2m.utils.errors import DataError

#: The captioner ``--caption auto`` uses unless ``--captioner`` names a preset: resolved by
#: :func:`default_captioner`.
DEFAULT_CAPTIONER = 'auto'
#: ``'auto'`` resolves to the first preset with CUDA, to the second without.
AUTO_CAPTIONERS = ('llava_v16_vicuna', 'smolvlm_256m')


def default_captioner(cuda: Optional[bool] = None) -> str:
    """The preset ``'auto'`` stands for: :data:`AUTO_CAPTIONERS` ``[0]`` when CUDA is available
    (or ``cuda=True``), ``[1]`` otherwise."""
    if cuda is None:
        import torch

        cuda = torch.cuda.is_available()
    return AUTO_CAPTIONERS[0] if cuda else AUTO_CAPTIONERS[1]


def _build(captioner):
    from tr2m.captioners import BaseCaptioner, build_captioner, preset_config

    if isinstance(captioner, BaseCaptioner):
        return captioner
    if captioner == 'auto':
        captioner = default_captioner()
    if isinstance(captioner, str) and preset_config(captioner)['type'] in (
            'VLMCaptioner', 'ObjectListCaptioner'):
        return build_captioner(captioner, num_captions=1)  # caption 0 is the same either way
    return build_captioner(captioner)


def auto_captions(images: Sequence[Union[str, np.ndarray]],
                  captioner: Union[str, dict, object] = DEFAULT_CAPTIONER
                  ) -> Tuple[List[str], dict]:
    """One caption per image (file path or RGB uint8 array) and the provenance of the source
    that wrote them.

    Raises:
        DataError: an image the captioner leaves without caption.
    """
    from tr2m.datasets.depth_io import read_rgb

    cap = _build(captioner)
    arrays, keys = [], []
    for i, image in enumerate(images):
        if isinstance(image, np.ndarray):
            arrays.append(image)
            keys.append(f'image_{i}')
        else:
            arrays.append(read_rgb(str(image)) if cap.needs_pixels else None)
            keys.append(osp.basename(str(image)))
    rows = cap.caption_images(arrays, keys)
    captions = []
    for key, row in zip(keys, rows):
        if not row or not row[0].text:
            raise DataError(f'captioner {cap.name!r} wrote no caption for image {key}; give one '
                            'with --text or --text-file')
        captions.append(row[0].text)
    return captions, dict(rows[0][0].provenance) if rows else {}


def fill_captions(images: Sequence, captions: Optional[Sequence[Optional[str]]],
                  captioner=None) -> List[str]:
    """``captions`` with every missing (None) caption written by ``captioner``."""
    captions = list(captions) if captions is not None else [None] * len(images)
    missing = [i for i, c in enumerate(captions) if c is None]
    if missing:
        written, _ = auto_captions([images[i] for i in missing], captioner or DEFAULT_CAPTIONER)
        for i, text in zip(missing, written):
            captions[i] = text
    return captions
