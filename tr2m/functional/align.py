"""Evaluation-time alignment of relative predictions (the paper's relative-depth baselines):
median scaling, the per-image least-squares fit in depth or inverse-depth space, and the
dataset-global fit (one scale and shift for a whole test set, RSA's "global fit").

Every fit is :mod:`tr2m.functional.fit`'s, with its rule for an image without a pixel (the
identity: such an image is returned unscaled).
"""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from .affine import (
    ALIGN_SPACES,
    MIN_INV_DEPTH,
    apply_scale_shift,
    as_float,
    safe_inverse,
)
from .fit import fit_scale_shift, per_image, scale_shift_sums, solve_scale_shift


def _median(v: Tensor) -> Tensor:
    """numpy-style median of a 1-D tensor (mean of the two middle values for even sizes)."""
    s, _ = torch.sort(v)
    n = s.numel()
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def align_median(pred: Tensor, gt: Tensor, mask: Tensor) -> Tensor:
    """Median scaling: ``pred * median(gt) / median(pred)`` over the masked pixels, per image.

    Args:
        pred (Tensor): relative (up-to-scale) depth, ``(H, W)`` or ``(B, ..., H, W)`` (one
            scale per leading index).
        gt (Tensor): ground-truth depth, same shape.
        mask (Tensor): bool pixels to use, broadcastable (e.g. :func:`eval_mask` & validity).

    Returns:
        Tensor: the scaled prediction, ``pred``'s shape, float (float64 stays float64). An
        image without masked pixels is returned unscaled.

    Raises:
        ValueError: the median prediction of an image is not positive and finite.
    """
    pred = as_float(pred)
    m = per_image(torch.broadcast_to(mask.bool(), pred.shape))
    p, g = per_image(pred), per_image(torch.broadcast_to(gt, pred.shape))
    scales = []
    for i in range(p.shape[0]):
        if not bool(m[i].any()):
            scales.append(torch.ones((), dtype=torch.float64, device=pred.device))
            continue
        med_p = _median(p[i][m[i]].double())
        if not (bool(torch.isfinite(med_p)) and float(med_p) > 0):
            raise ValueError(f'median of the prediction is {float(med_p)}: median scaling '
                             'needs a positive, finite prediction')
        scales.append(_median(g[i][m[i]].double()) / med_p)
    scale = torch.stack(scales)
    return apply_scale_shift(pred, scale, torch.zeros_like(scale), space='depth')


def _fit_per_image(x: Tensor, y: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
    """:func:`fit_scale_shift` with one fit per leading index of ``(B, ..., H, W)`` (or one for
    an ``(H, W)`` map): ``(B,)`` scales and shifts."""
    m = torch.broadcast_to(mask.bool(), x.shape)
    y = torch.broadcast_to(y, x.shape)
    scale, shift = fit_scale_shift(per_image(x)[:, None], per_image(y)[:, None],
                                   per_image(m)[:, None])
    return scale.double(), shift.double()


def align_lsq(pred: Tensor, gt: Tensor, mask: Tensor) -> Tensor:
    """Least-squares scale and shift in depth space, per image: ``s * pred + t ~ gt``.

    Args: as :func:`align_median`. Returns the aligned depth (which may be negative where the
    fit extrapolates; the evaluation clamps it to its range).
    """
    pred = as_float(pred)
    scale, shift = _fit_per_image(pred, gt, mask)
    return apply_scale_shift(pred, scale, shift, space='depth')


def align_lsq_inverse(rel_inv: Tensor, gt: Tensor, mask: Tensor,
                      min_inv: float = MIN_INV_DEPTH) -> Tensor:
    """Least-squares fit in inverse-depth space, per image (MiDaS protocol).

    Fits ``s * rel_inv + t ~ 1 / gt`` on the masked pixels and returns
    ``1 / max(s * rel_inv + t, min_inv)`` (see :func:`affine_inverse_to_depth` for the floor).

    Args:
        rel_inv (Tensor): relative inverse depth (disparity-like), ``(H, W)`` or
            ``(B, ..., H, W)``.
        gt (Tensor): ground-truth depth, same shape.
        mask (Tensor): bool pixels to use (must exclude ``gt <= 0``), broadcastable.
        min_inv (float): smallest allowed inverse depth. Defaults to :data:`MIN_INV_DEPTH`.

    Returns:
        Tensor: metric depth, ``rel_inv``'s shape.
    """
    rel_inv = as_float(rel_inv)
    m = torch.broadcast_to(mask.bool(), rel_inv.shape)
    target = safe_inverse(torch.broadcast_to(gt, rel_inv.shape).double(), m)
    scale, shift = _fit_per_image(rel_inv, target, m)
    return apply_scale_shift(rel_inv, scale, shift, space='inverse', min_inv=min_inv)


def fit_global_scale_shift(xs: Sequence[Tensor], gts: Sequence[Tensor], masks: Sequence[Tensor],
                           space: str = 'inverse') -> Tuple[float, float]:
    """One least-squares ``(scale, shift)`` over all masked pixels of all images.

    ``space='inverse'``: ``s * x + t ~ 1 / gt`` with ``x`` a relative inverse depth;
    ``space='depth'``: ``s * x + t ~ gt`` with ``x`` a relative depth. Images may differ in size.
    """
    if space not in ALIGN_SPACES:
        raise ValueError(f'unknown space {space!r}; valid: {ALIGN_SPACES}')
    if not len(xs) == len(gts) == len(masks):
        raise ValueError(f'got {len(xs)} predictions, {len(gts)} GTs and {len(masks)} masks')
    total = torch.zeros(5, dtype=torch.float64)
    for x, gt, mask in zip(xs, gts, masks):
        m = torch.broadcast_to(mask.bool(), x.shape)
        g = torch.broadcast_to(gt, x.shape).double()
        y = safe_inverse(g, m) if space == 'inverse' else g
        total += scale_shift_sums(x, y, m).sum(0).cpu()
    scale, shift = solve_scale_shift(total)
    return float(scale), float(shift)


def align_global(xs: Sequence[Tensor], gts: Sequence[Tensor], masks: Sequence[Tensor],
                 space: str = 'inverse', min_inv: float = MIN_INV_DEPTH) -> List[Tensor]:
    """Dataset-global alignment: one scale and shift for all images (RSA's "global fit").

    Args:
        xs (Sequence[Tensor]): relative inverse depths (``space='inverse'``) or relative depths
            (``'depth'``), one ``(..., H, W)`` tensor per image.
        gts (Sequence[Tensor]): ground-truth depths, matching shapes.
        masks (Sequence[Tensor]): bool pixels to fit on.
        space (str): ``'inverse'`` or ``'depth'``. Defaults to ``'inverse'``.
        min_inv (float): inverse-depth floor in inverse space. Defaults to
            :data:`MIN_INV_DEPTH`.

    Returns:
        list[Tensor]: the aligned metric depth of every image.
    """
    scale, shift = fit_global_scale_shift(xs, gts, masks, space)
    return [apply_scale_shift(x, scale, shift, space, min_inv) for x in xs]


__all__ = ['align_median', 'align_lsq', 'align_lsq_inverse', 'fit_global_scale_shift',
           'align_global']
