"""Small tensor helpers shared by the frozen wrappers and the heads."""
import math
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
    """``exp`` with the exponent clamped, so a diverging head cannot produce inf.

    Beyond ``+-max_log`` the gradient is exactly 0, so a head pushed past the bound never comes
    back; the heads use :func:`positive_map` instead. Kept for comparison."""
    return torch.exp(x.clamp(-max_log, max_log))


class _StraightThroughClamp(torch.autograd.Function):
    """``clamp`` in the forward pass, the identity in the backward pass."""

    @staticmethod
    def forward(ctx, x: Tensor, lo: float, hi: float) -> Tensor:
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad, None, None


def exp_straight_through(x: Tensor, max_log: float = 20.0) -> Tensor:
    """``exp(clamp(x, -max_log, max_log))`` whose gradient is ``exp(clamp(x)) * grad`` everywhere:
    the value is bounded as by :func:`exp_clamped`, but the gradient never becomes 0, so a head
    pushed past the bound is pulled back. ``exp_straight_through(b) = exp(b)`` for ``|b| <=
    max_log``, so a bias ``b`` still means an output of ``exp(b)``."""
    return torch.exp(_StraightThroughClamp.apply(x, -max_log, max_log))


#: ``softplus(0 + SOFTPLUS_SHIFT) = 1``: a zero pre-activation gives 1, as ``exp(0)`` does.
SOFTPLUS_SHIFT = math.log(math.e - 1.0)
#: Added to softplus, whose float32 value underflows to exactly 0 below about -88: the map stays
#: strictly positive (``exp(-20)`` ~ 2e-9 is the exp modes' floor).
SOFTPLUS_FLOOR = 1e-9
#: Activations of :func:`positive_map`.
POSITIVE_MAPS = ('softplus', 'exp_st', 'exp_clamped', 'bounded')
#: Activations of :func:`map_activation`: the positive maps and the identity (``'signed'``).
MAP_ACTIVATIONS = POSITIVE_MAPS + ('signed',)
#: Bound ``c`` of the ``'bounded'`` pre-activation ``c * tanh(x / c)``: the map lies in
#: ``[softplus(-c + log(e - 1)), softplus(c + log(e - 1))]`` = [0.0042, 6.54] (+ the floor).
BOUNDED_PREACT = 6.0
#: A pixel whose slope ``d map / d pre-activation`` is below this is "dead" (no gradient reaches
#: its pre-activation through the map; see :func:`map_activation_slope`).
DEAD_SLOPE = 1e-6


def positive_map(x: Tensor, mode: str = 'softplus', max_log: float = 20.0) -> Tensor:
    """A positive map (the scale and shift of ``1 / (A * Dr + B)``) from a pre-activation.

    Args:
        x (Tensor): pre-activation, any shape.
        mode (str): ``'exp_st'`` (:func:`exp_straight_through`: ``exp`` with a bounded value
            and a gradient that never vanishes at the bound; the paper's ``exp``),
            ``'softplus'`` (``softplus(x + log(e - 1)) + 1e-9``: 1 at ``x = 0``, linear growth
            instead of exponential, no bound needed; a bias no longer reads as a log),
            ``'bounded'`` (softplus of the bounded pre-activation ``c * tanh(x / c)``,
            ``c =`` :data:`BOUNDED_PREACT`: the value cannot reach the floor, so the map cannot
            sit there with a vanishing slope; 1 at ``x = 0``) or ``'exp_clamped'`` (the old
            hard clamp, zero gradient past the bound).
            Defaults to 'softplus' (measured best on the demo set, see the README section
            "Heads that cannot die").
        max_log (float): bound of the exponent for the ``exp`` modes. Defaults to 20.

    Returns:
        Tensor: positive, the shape of ``x``.
    """
    if mode == 'exp_st':
        return exp_straight_through(x, max_log)
    if mode == 'softplus':
        return torch.nn.functional.softplus(x + SOFTPLUS_SHIFT) + SOFTPLUS_FLOOR
    if mode == 'bounded':
        u = BOUNDED_PREACT * torch.tanh(x / BOUNDED_PREACT)
        return torch.nn.functional.softplus(u + SOFTPLUS_SHIFT) + SOFTPLUS_FLOOR
    if mode == 'exp_clamped':
        return exp_clamped(x, max_log)
    raise ValueError(f'positive_map mode must be one of {POSITIVE_MAPS}, got {mode!r}')


def map_activation(x: Tensor, mode: str = 'softplus', max_log: float = 20.0) -> Tensor:
    """A head's output map from its pre-activation: :func:`positive_map` for the positive
    modes, ``x`` itself for ``'signed'`` (a shift that may be negative; the denominator of
    ``1 / (A * Dr + B)`` is then kept positive by the inverse-depth floor, whose hits are
    counted, see :func:`~tr2m.functional.affine_inverse_to_depth`)."""
    if mode == 'signed':
        return x
    if mode not in POSITIVE_MAPS:
        raise ValueError(f'map activation must be one of {MAP_ACTIVATIONS}, got {mode!r}')
    return positive_map(x, mode, max_log)


def map_activation_slope(x: Tensor, mode: str = 'softplus', max_log: float = 20.0) -> Tensor:
    """``d map_activation(x, mode) / dx`` elementwise, in closed form: the factor every
    gradient that reaches the map is multiplied by on its way to the pre-activation.

    ``'softplus'``: ``sigmoid(x + log(e - 1))``; ``'exp_st'``: ``exp(clamp(x))`` (its
    straight-through gradient); ``'exp_clamped'``: ``exp(x)`` strictly inside the bound, 0 on
    it and outside (as autograd); ``'bounded'``: ``sigmoid(u + log(e - 1)) * (1 - tanh(x /
    c)^2)``; ``'signed'``: 1.
    """
    if mode == 'softplus':
        return torch.sigmoid(x + SOFTPLUS_SHIFT)
    if mode == 'exp_st':
        return torch.exp(x.clamp(-max_log, max_log))
    if mode == 'exp_clamped':
        return torch.where(x.abs() < max_log, torch.exp(x.clamp(-max_log, max_log)),
                           torch.zeros_like(x))
    if mode == 'bounded':
        t = torch.tanh(x / BOUNDED_PREACT)
        return torch.sigmoid(BOUNDED_PREACT * t + SOFTPLUS_SHIFT) * (1 - t * t)
    if mode == 'signed':
        return torch.ones_like(x)
    raise ValueError(f'map activation must be one of {MAP_ACTIVATIONS}, got {mode!r}')


def dead_fraction(x: Tensor, mode: str, threshold: float = DEAD_SLOPE,
                  max_log: float = 20.0) -> Tensor:
    """Fraction of the elements of a pre-activation whose slope through the map
    (:func:`map_activation_slope`) is below ``threshold``: 1 for a map that passes no
    gradient back on any pixel (a dead map), 0 for a healthy one. A detached 0-dim tensor."""
    with torch.no_grad():
        return (map_activation_slope(x.detach(), mode, max_log) < threshold).float().mean()
