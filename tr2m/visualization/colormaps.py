"""Colour maps for depth pictures: look-up tables, depth-to-colour mappings, invalid-pixel
hatching and robust colour ranges (pure numpy + OpenCV; RGB uint8 throughout).

- **Colour maps** (:data:`COLORMAPS`): ``'turbo'`` (default) and ``'spectral'`` (ColorBrewer's
  11-class Spectral, interpolated linearly between its control colours) are perceptual
  rainbow-like maps; OpenCV's ``'magma' 'inferno' 'plasma' 'viridis' 'jet'`` work too. Every
  look-up table is oriented so that its last entry is the warm / bright end, and depth maps are
  drawn **near = warm** (turbo: near red, far dark blue).
- **Depth scale** of the colour map: ``'linear'`` in depth, ``'log'`` or ``'inverse'``
  (disparity-like, as relative-depth figures do).
- **Invalid** pixels (no GT, outside the evaluation mask) are hatched in two neutral greys
  (:data:`HATCH_GREYS`; ``invalid='grey'`` uses one flat grey). No colour map here contains a
  neutral grey, so "no data" is never drawn like "far".
"""
import math
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from tr2m.utils.choices import COLORMAPS, DEPTH_SCALES
from tr2m.utils.choices import CV2_COLORMAPS as _CV2_MAPS

#: Two neutral greys of the invalid-pixel hatching (R = G = B).
HATCH_GREYS = (105, 165)
#: Flat grey of ``invalid='grey'``.
INVALID_GREY = 128
#: ColorBrewer "Spectral" (11 classes), red -> violet; matplotlib's 'Spectral' interpolates
#: these same control colours linearly.
SPECTRAL_11 = ((158, 1, 66), (213, 62, 79), (244, 109, 67), (253, 174, 97), (254, 224, 139),
               (255, 255, 191), (230, 245, 152), (171, 221, 164), (102, 194, 165),
               (50, 136, 189), (94, 79, 162))
# COLORMAPS (colour map names accepted everywhere), DEPTH_SCALES (depth-to-colour scales) and
# _CV2_MAPS (the OpenCV ones; cividis left out on purpose) live in tr2m.utils.choices, which the
# tools' argument parsers read before OpenCV is imported.

_LUTS: Dict[str, np.ndarray] = {}


# --------------------------------------------------------------------------- colour maps

def colormap_lut(name: str) -> np.ndarray:
    """``(256, 3)`` uint8 RGB look-up table of colour map ``name``; entry 255 is the warm end.

    Raises:
        ValueError: unknown name (see :data:`COLORMAPS`).
    """
    if name in _LUTS:
        return _LUTS[name]
    if name == 'spectral':
        points = np.asarray(SPECTRAL_11[::-1], dtype=np.float64)  # violet (cold) -> red (warm)
        xs = np.linspace(0, 255, len(points))
        lut = np.stack([np.interp(np.arange(256), xs, points[:, c]) for c in range(3)], 1)
        lut = np.round(lut).astype(np.uint8)
    elif name in _CV2_MAPS:
        ramp = np.arange(256, dtype=np.uint8)[:, None]
        lut = cv2.applyColorMap(ramp, getattr(cv2, 'COLORMAP_' + _CV2_MAPS[name]))[:, 0, ::-1]
        lut = np.ascontiguousarray(lut)
    else:
        raise ValueError(f'unknown colour map {name!r}; valid: {COLORMAPS}')
    _LUTS[name] = lut
    return lut


def apply_colormap(t: np.ndarray, cmap: str = 'turbo') -> np.ndarray:
    """Colours of ``t`` in [0, 1] (``(H, W)``; 1 = warm end), RGB uint8 ``(H, W, 3)``."""
    idx = np.round(np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0) * 255).astype(np.uint8)
    return colormap_lut(cmap)[idx]


def depth_to_unit(depth: np.ndarray, lo: float, hi: float, scale: str = 'linear') -> np.ndarray:
    """Position on the colour map of ``depth`` in ``[lo, hi]``: 1 at ``lo`` (near, warm), 0 at
    ``hi`` (far), clipped; ``scale`` is ``'linear'``, ``'log'`` or ``'inverse'``.

    Raises:
        ValueError: unknown scale, or not ``0 < lo < hi`` (``lo >= 0`` for linear).
    """
    if scale not in DEPTH_SCALES:
        raise ValueError(f'unknown depth scale {scale!r}; valid: {DEPTH_SCALES}')
    if not (hi > lo and (lo > 0 or (scale == 'linear' and lo >= 0))):
        raise ValueError(f'colour range must satisfy 0 < lo < hi, got {lo}..{hi}')
    d = np.clip(np.asarray(depth, dtype=np.float64), lo, hi)
    if scale == 'linear':
        return (hi - d) / (hi - lo)
    elif scale == 'log':
        return (math.log(hi) - np.log(d)) / (math.log(hi) - math.log(lo))
    elif scale == 'inverse':
        return (1.0 / d - 1.0 / hi) / (1.0 / lo - 1.0 / hi)
    else:
        raise ValueError(f'unknown depth scale {scale!r}; valid: {DEPTH_SCALES}')


def hatch(shape: Tuple[int, int], style: str = 'hatch', period: int = 8) -> np.ndarray:
    """RGB fill of invalid pixels: diagonal stripes of :data:`HATCH_GREYS` (``'hatch'``) or
    :data:`INVALID_GREY` (``'grey'``)."""
    h, w = shape
    if style == 'hatch':
        yy, xx = np.mgrid[0:h, 0:w]
        grey = np.where(((xx + yy) // (period // 2)) % 2 == 0, HATCH_GREYS[0], HATCH_GREYS[1])
    elif style == 'grey':
        grey = np.full((h, w), INVALID_GREY)
    else:
        raise ValueError(f"invalid must be 'hatch' or 'grey', got {style!r}")
    return np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)


def colorize_depth(depth: np.ndarray, lo: float, hi: float, valid: Optional[np.ndarray] = None,
                   cmap: str = 'turbo', scale: str = 'linear',
                   invalid: str = 'hatch') -> np.ndarray:
    """Colour-mapped depth ``(H, W)`` -> RGB ``(H, W, 3)``, near = warm, invalid pixels hatched.

    Args:
        depth (np.ndarray): depth ``(H, W)`` in any unit.
        lo, hi (float): the colour range (same unit); values outside are clipped.
        valid (np.ndarray, optional): bool ``(H, W)``; defaults to finite and positive depth.
        cmap (str): a name of :data:`COLORMAPS`. Defaults to 'turbo'.
        scale (str): ``'linear'``, ``'log'`` or ``'inverse'``. Defaults to 'linear'.
        invalid (str): ``'hatch'`` or ``'grey'``. Defaults to 'hatch'.
    """
    depth = np.asarray(depth, dtype=np.float64)
    ok = np.isfinite(depth) & (depth > 0)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    img = apply_colormap(depth_to_unit(np.where(ok, depth, hi), lo, hi, scale), cmap)
    return np.where(ok[..., None], img, hatch(depth.shape, invalid))


def colorize_values(values: np.ndarray, lo: float, hi: float, valid: Optional[np.ndarray] = None,
                    cmap: str = 'inferno', invalid: str = 'hatch') -> np.ndarray:
    """Colour-mapped scalar map (error, scale, shift): ``lo`` -> cold end, ``hi`` -> warm end."""
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    t = (np.where(ok, values, lo) - lo) / max(hi - lo, 1e-12)
    return np.where(ok[..., None], apply_colormap(t, cmap), hatch(values.shape, invalid))


# --------------------------------------------------------------------------- ranges and ticks

def robust_range(values: np.ndarray, mask: Optional[np.ndarray] = None,
                 percentiles: Tuple[float, float] = (1.0, 99.0),
                 positive: bool = True) -> Optional[Tuple[float, float]]:
    """``(lo, hi)`` percentiles of the finite (and positive) ``values`` under ``mask``; None if
    there are none. ``hi > lo`` always (a constant map gets +-1% around its value)."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v) & ((v > 0) if positive else True)
    if mask is not None:
        ok &= np.asarray(mask, dtype=bool)
    if not ok.any():
        return None
    lo, hi = (float(x) for x in np.percentile(v[ok], percentiles))
    if not hi > lo:
        pad = abs(lo) * 0.01 or 1e-3
        lo, hi = lo - pad, hi + pad
        if positive and lo <= 0:
            lo = hi * 1e-3
    return lo, hi


def nice_ceil(x: float) -> float:
    """The smallest 1, 2 or 5 x 10^k that is >= ``x``."""
    e = math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * 10.0 ** e >= x - 1e-12:
            return float(f'{m * 10.0 ** e:.6g}')
    return float(10.0 ** (e + 1))



__all__ = ['HATCH_GREYS', 'INVALID_GREY', 'SPECTRAL_11', 'COLORMAPS', 'DEPTH_SCALES',
           'colormap_lut', 'apply_colormap', 'depth_to_unit', 'hatch', 'colorize_depth',
           'colorize_values', 'robust_range', 'nice_ceil']
