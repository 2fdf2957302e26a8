"""Small tensor helpers shared by the frozen wrappers."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def normalize(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """``(images - mean) / std`` for ``(B, 3, H, W)`` images in [0, 1]."""
    m = images.new_tensor(mean).view(1, -1, 1, 1)
    s = images.new_tensor(std).view(1, -1, 1, 1)
    return (images - m) / s


def fit_size(h: int, w: int, multiple: int, short_side: Optional[int] = None,
             square: Optional[int] = None) -> Tuple[int, int]:
    """Network input size for an ``(h, w)`` image.

    ``square`` forces ``(square, square)``; otherwise the image is scaled so its shorter side
    is ``short_side`` (kept as is when None) and each side is rounded to a multiple of
    ``multiple``.
    """
    if square is not None:
        return square, square
    scale = 1.0 if short_side is None else short_side / min(h, w)
    th = max(multiple, int(round(h * scale / multiple)) * multiple)
    tw = max(multiple, int(round(w * scale / multiple)) * multiple)
    return th, tw


def resize_to(x: Tensor, size: Tuple[int, int], mode: str = 'bilinear') -> Tensor:
    """Resize ``(B, C, H, W)`` to ``size`` unless it already has it."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == 'nearest':
        return F.interpolate(x, size=size, mode='nearest')
    return F.interpolate(x, size=size, mode=mode, align_corners=False)


def stable_hash(text: str) -> int:
    """A hash that does not change between Python processes (unlike ``hash``)."""
    import hashlib

    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], 'little')


def exp_clamped(x: Tensor, max_log: float = 20.0) -> Tensor:
    """``exp`` with the exponent clamped, so a diverging head cannot produce inf."""
    return torch.exp(x.clamp(-max_log, max_log))
