"""Affine maps of relative depth and the floors that keep them finite.

TR2M's eq. 3 ``D = 1 / (A * Dr + B)``, RSA's ``1 / (s * Dr + t)`` and the inverse-space
alignments all invert an affine map of a relative inverse depth. They share one floor,
:data:`MIN_INV_DEPTH`: a denominator below it (the affine map sends a relative value past
infinity) becomes it, i.e. a depth of 1e8, which an evaluation then clamps to its range.
"""
import math
from typing import Optional, Union

import torch
from torch import Tensor

#: Smallest denominator of ``1 / (scale * x + shift)`` (a negative relative value cannot flip
#: the sign of the depth): the inverse-depth floor of depthers and alignments alike.
MIN_INV_DEPTH = 1e-8
#: Lower clamp of evaluated predictions when the protocol's ``min_depth`` is 0 (logs need
#: ``p > 0``).
DEPTH_EPS = 1e-6
#: Spaces of a scale-and-shift map: ``'inverse'`` is ``1 / (s * x + t)`` (``x`` a relative
#: inverse depth), ``'depth'`` is ``s * x + t``.
ALIGN_SPACES = ('inverse', 'depth')

Number = Union[float, Tensor]


def affine_inverse_to_depth(rel: Tensor, scale: Number, shift: Number,
                            return_nonpositive: bool = False,
                            min_inv: float = MIN_INV_DEPTH):
    """Metric depth ``1 / max(scale * rel + shift, min_inv)`` (TR2M eq. 3; RSA with global
    factors; the inverse-space alignments).

    A denominator below ``min_inv`` (``rel <= -shift / scale``: a relative value the affine map
    sends past infinity) is clamped there, i.e. a depth of ``1 / min_inv`` = 1e8 by default
    (MiDaS caps the inverse depth at ``1 / max_depth`` the same way). With
    ``return_nonpositive=True`` the number of such pixels is returned too (a diagnostic the
    depthers log as ``nonpos_denom_px``), so they are counted, not hidden.

    Args:
        rel (Tensor): relative inverse depth ``(..., H, W)``.
        scale, shift (float | Tensor): broadcastable to ``rel`` (maps, or one per image).
        return_nonpositive (bool): also return the count of clamped pixels. Defaults to False.
        min_inv (float): the floor. Defaults to :data:`MIN_INV_DEPTH`.
    """
    denom = scale * rel + shift
    depth = 1.0 / denom.clamp_min(min_inv)
    if return_nonpositive:
        return depth, (denom.detach() < min_inv).sum()
    return depth


def _per_image_value(v: Tensor, like: Tensor) -> Tensor:
    """Broadcast a per-image value ``(B,)`` against ``like`` of shape ``(B, ..., H, W)``."""
    if like.dim() == 2:
        return v.reshape(())
    return v.reshape((-1,) + (1,) * (like.dim() - 1))


def as_float(x: Tensor) -> Tensor:
    """``x`` as float32 unless it already is float32/float64 (float16 and integers are not
    precise enough to align)."""
    return x if x.is_floating_point() and x.dtype != torch.float16 else x.float()


def apply_scale_shift(x: Tensor, scale, shift, space: str = 'depth',
                      min_inv: float = MIN_INV_DEPTH) -> Tensor:
    """``s * x + t`` (``space='depth'``) or ``1 / max(s * x + t, min_inv)`` (``'inverse'``,
    :func:`affine_inverse_to_depth`).

    ``scale`` / ``shift`` are numbers or per-image tensors ``(B,)`` for ``x`` of shape
    ``(B, ..., H, W)``.
    """
    x = as_float(x)
    if isinstance(scale, Tensor) and scale.dim() > 0:
        scale = _per_image_value(scale, x)
        shift = _per_image_value(shift, x)
    if isinstance(scale, Tensor):
        scale, shift = scale.to(x), shift.to(x)
    if space == 'depth':
        return scale * x + shift
    elif space == 'inverse':
        return affine_inverse_to_depth(x, scale, shift, min_inv=min_inv)
    else:
        raise ValueError(f'unknown space {space!r}; valid: {ALIGN_SPACES}')


def safe_inverse(depth: Tensor, valid: Tensor) -> Tensor:
    """``1 / depth`` on valid pixels, 0 elsewhere (no inf from invalid GT)."""
    return torch.where(valid, 1.0 / torch.where(valid, depth, torch.ones_like(depth)),
                       torch.zeros_like(depth))


def clamp_to_range(pred: Tensor, min_depth: Optional[float],
                   max_depth: Optional[float]) -> Tensor:
    """A prediction clamped to an evaluation range, as the metric scores it: below at
    ``min_depth`` (at :data:`DEPTH_EPS` when ``min_depth`` is 0 or None, so logs stay finite),
    above at ``max_depth`` (None or ``inf``: no upper clamp)."""
    lower = float(min_depth) if min_depth is not None and min_depth > 0 else DEPTH_EPS
    upper = None if max_depth is None or math.isinf(max_depth) else float(max_depth)
    return pred.clamp(min=lower, max=upper)


__all__ = ['MIN_INV_DEPTH', 'DEPTH_EPS', 'ALIGN_SPACES', 'affine_inverse_to_depth',
           'apply_scale_shift', 'safe_inverse', 'clamp_to_range', 'as_float']
