"""The one least-squares scale-and-shift fit ``s * x + t ~ y`` (per image, or pooled).

Both the pseudo-depth loss (TR2M eq. 5) and the evaluation-time alignments (median / lsq /
global) fit a scale and a shift between a relative map ``x`` and a target ``y`` on valid
pixels. They share one solver, :func:`_solve`, and with it one rule for degenerate images:

- **no valid pixel**: ``(s, t) = (1, 0)``, the identity. With no pixel there is no
  information, and the identity is the only answer that leaves the map unchanged (an aligned
  prediction stays the model's own) and cannot produce a zero or infinite depth from nothing;
  ``(0, 0)`` would send every pixel of an inverse-space fit to ``1 / 0``. Callers that must
  not use such an image (the pseudo-depth gate, the metric's skip list) test the pixel count.
- **one valid pixel, or ``x`` constant** on the valid pixels (``var(x) <= 1e-12 * mean(x^2)``):
  ``(0, mean(y))``, the best constant fit (the minimum-norm optimum in ``s``).

Two ways in, one solver: :func:`fit_scale_shift` fits each image from its centred moments
(accurate, batched over leading dimensions, for losses and per-image alignment);
:func:`scale_shift_sums` gives additive sums that can be pooled over many images and are solved
by :func:`solve_scale_shift` (the dataset-global fit).
"""
from typing import Tuple

import torch
from torch import Tensor

from .precision import accumulate_dtype, float32_math

#: A fit is degenerate when ``var(x) <= DEGENERATE_REL_VAR * mean(x^2)`` over the valid pixels
#: (``x`` constant up to relative noise 1e-6); it then falls back to ``s = 0``.
DEGENERATE_REL_VAR = 1e-12
#: Keys of the additive sums of :func:`scale_shift_sums`, in order.
FIT_SUM_KEYS = ('count', 'sum_x', 'sum_xx', 'sum_y', 'sum_xy')


def _solve(count: Tensor, mean_x: Tensor, mean_y: Tensor, var_x: Tensor, cov_xy: Tensor,
           mean_sq_x: Tensor) -> Tuple[Tensor, Tensor]:
    """``(s, t)`` from the moments of the valid pixels, with the module's rule for degenerate
    images (the moments are 0 for an image without a pixel)."""
    zero = torch.zeros((), dtype=var_x.dtype, device=var_x.device)
    ok = (count >= 2) & (var_x > DEGENERATE_REL_VAR * mean_sq_x) & (var_x > 0)
    scale = torch.where(ok, cov_xy / torch.where(ok, var_x, torch.ones_like(var_x)), zero)
    shift = mean_y - scale * mean_x  # mean(y) when degenerate
    empty = count < 1
    return (torch.where(empty, torch.ones_like(scale), scale),
            torch.where(empty, torch.zeros_like(shift), shift))


@float32_math
def fit_scale_shift(x: Tensor, y: Tensor, valid_mask: Tensor) -> Tuple[Tensor, Tensor]:
    """Per-image least squares ``alpha * x + beta ~ y`` over the valid pixels (closed form).

    All images are solved at once (no Python loop) with the centred normal equations
    ``alpha = cov(x, y) / var(x)``, ``beta = mean(y) - alpha * mean(x)``, accumulated in float64
    (float32 on MPS). Masked-out pixels are ignored even if they hold NaN or inf. Degenerate
    images never give NaN (see the module docstring): no valid pixel gives ``(1, 0)``; one
    pixel or a constant ``x`` gives ``(0, mean(y))``.

    Args:
        x (Tensor): regressor ``(..., H, W)``, e.g. relative inverse depth.
        y (Tensor): target ``(..., H, W)``, e.g. inverse metric GT.
        valid_mask (Tensor): bool, broadcastable with ``x`` and ``y``.

    Returns:
        tuple[Tensor, Tensor]: ``alpha`` and ``beta`` of shape ``(...)`` (the broadcast leading
        shape), in the floating dtype of ``x``/``y`` (at least float32).
    """
    x, y, valid = torch.broadcast_tensors(x, y, valid_mask.bool())
    out_dtype = torch.promote_types(torch.promote_types(x.dtype, y.dtype), torch.float32)
    acc = accumulate_dtype(x)
    valid = valid.flatten(-2)
    zero = torch.zeros((), dtype=acc, device=x.device)
    xf = torch.where(valid, x.flatten(-2).to(acc), zero)  # (..., N)
    yf = torch.where(valid, y.flatten(-2).to(acc), zero)
    count = valid.sum(-1).to(acc)  # (...)
    n = count.clamp_min(1)
    mean_x = xf.sum(-1) / n
    mean_y = yf.sum(-1) / n
    dx = torch.where(valid, xf - mean_x[..., None], zero)
    dy = torch.where(valid, yf - mean_y[..., None], zero)
    alpha, beta = _solve(count, mean_x, mean_y, (dx * dx).sum(-1) / n, (dx * dy).sum(-1) / n,
                         (xf * xf).sum(-1) / n)
    return alpha.to(out_dtype), beta.to(out_dtype)


def per_image(x: Tensor) -> Tensor:
    """``(H, W)`` -> ``(1, H*W)``; ``(B, ..., H, W)`` -> ``(B, N)`` (one fit per leading
    index)."""
    if x.dim() < 2:
        raise ValueError(f'expected a depth map (..., H, W), got shape {tuple(x.shape)}')
    return x.reshape(1, -1) if x.dim() == 2 else x.reshape(x.shape[0], -1)


def scale_shift_sums(x: Tensor, y: Tensor, valid_mask: Tensor) -> Tensor:
    """Sums of the normal equations of ``s * x + t ~ y`` over the valid pixels of each image.

    Args:
        x, y (Tensor): ``(H, W)`` (one image) or ``(B, ..., H, W)`` (one fit per leading index).
        valid_mask (Tensor): bool, broadcastable to ``x``.

    Returns:
        Tensor: float64 ``(B, 5)`` holding ``[n, sum x, sum x^2, sum y, sum x*y]``
        (:data:`FIT_SUM_KEYS`). Sums of several images add up to the sums of a single fit over
        all of them (the dataset-global fit), which :func:`solve_scale_shift` solves.
    """
    mask = per_image(torch.broadcast_to(valid_mask.bool(), x.shape))
    xf = torch.where(mask, per_image(x).double(), 0.0)
    yf = torch.where(mask, per_image(torch.broadcast_to(y, x.shape)).double(), 0.0)
    return torch.stack([mask.sum(1).double(), xf.sum(1), (xf * xf).sum(1), yf.sum(1),
                        (xf * yf).sum(1)], dim=1)


def solve_scale_shift(sums: Tensor) -> Tuple[Tensor, Tensor]:
    """Least-squares ``(scale, shift)`` from :func:`scale_shift_sums` (``(..., 5)``), with the
    rule of :func:`fit_scale_shift` for degenerate sums (no pixel: ``(1, 0)``).

    Returns:
        tuple[Tensor, Tensor]: float64 scale and shift of shape ``sums.shape[:-1]``.
    """
    n, sx, sxx, sy, sxy = sums.double().unbind(-1)
    safe_n = n.clamp_min(1)
    mean_x, mean_y, mean_sq_x = sx / safe_n, sy / safe_n, sxx / safe_n
    return _solve(n, mean_x, mean_y, mean_sq_x - mean_x * mean_x, sxy / safe_n - mean_x * mean_y,
                  mean_sq_x)


__all__ = ['DEGENERATE_REL_VAR', 'FIT_SUM_KEYS', 'fit_scale_shift', 'per_image',
           'scale_shift_sums', 'solve_scale_shift']
