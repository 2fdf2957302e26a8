"""Depth pictures for papers: colour-mapped depth with a colour bar in metres (or millimetres),
hatched invalid pixels, and the panels image | GT | prediction | AbsRel error | scale A | shift B
with the caption and the image's metrics written under them.

Pure numpy + OpenCV (text with ``cv2.putText``); images are **RGB** uint8 ``(H, W, 3)``
throughout (write them with ``cv2.imwrite(path, img[..., ::-1])`` or :func:`save_rgb`).

Conventions:

- **Colour maps** (:data:`COLORMAPS`): ``'turbo'`` (default) and ``'spectral'`` (ColorBrewer's
  11-class Spectral, interpolated linearly between its control colours) are perceptual
  rainbow-like maps; OpenCV's ``'magma' 'inferno' 'plasma' 'viridis' 'jet'`` work too. Every
  look-up table is oriented so that its last entry is the warm / bright end, and depth maps are
  drawn **near = warm** (turbo: near red, far dark blue).
- **Depth scale** of the colour map: ``'linear'`` in depth (default: the ticks of the bar are
  evenly spaced metres), ``'log'`` or ``'inverse'`` (disparity-like, as relative-depth figures
  do); the bar's ticks sit where their depth falls.
- **Range**: ``'image'`` (1st..99th percentile of the valid GT inside the protocol's depth
  range, else of the prediction; GT and prediction share it), ``'protocol'`` (the sample's
  evaluation range ``min_depth..max_depth``) or a fixed ``(lo, hi)`` in the sample's unit.
  Values outside are clipped to the bar's ends.
- **Invalid** pixels (no GT, outside the evaluation mask) are hatched in two neutral greys
  (:data:`HATCH_GREYS`; ``invalid='grey'`` uses one flat grey). No colour map here contains a
  neutral grey, so "no data" is never drawn like "far".
- **Units**: each sample's protocol ``units`` (``'m'`` or ``'mm'``) labels the depth bars; scale
  and shift maps (``D = 1 / (A * Dr + B)`` with a unitless ``Dr``) are labelled ``1/m``
  (``1/mm``).

Every renderer returns a :class:`Figure`: the picture plus where each panel, bar and tick is
(pixel boxes) and the numbers drawn, so tests and callers can check the picture as an array.
"""
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

#: Two neutral greys of the invalid-pixel hatching (R = G = B).
HATCH_GREYS = (105, 165)
#: Flat grey of ``invalid='grey'``.
INVALID_GREY = 128
#: Background, text and warning colours (RGB).
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)
WARNING = (200, 0, 0)
#: ColorBrewer "Spectral" (11 classes), red -> violet; matplotlib's 'Spectral' interpolates
#: these same control colours linearly.
SPECTRAL_11 = ((158, 1, 66), (213, 62, 79), (244, 109, 67), (253, 174, 97), (254, 224, 139),
               (255, 255, 191), (230, 245, 152), (171, 221, 164), (102, 194, 165),
               (50, 136, 189), (94, 79, 162))
# cividis is left out on purpose: it passes through neutral greys, the invalid-pixel colours.
_CV2_MAPS = dict(turbo='TURBO', magma='MAGMA', inferno='INFERNO', plasma='PLASMA',
                 viridis='VIRIDIS', jet='JET')
#: Colour map names accepted everywhere.
COLORMAPS = ('turbo', 'spectral') + tuple(n for n in _CV2_MAPS if n != 'turbo')
#: Depth-to-colour scales.
DEPTH_SCALES = ('linear', 'log', 'inverse')
#: Panels of :func:`render_panels`, in order.
PANEL_NAMES = ('image', 'gt', 'pred', 'error', 'scale', 'shift')
#: Metrics written under the panels (keys of ``compute_depth_metrics``) and their labels.
SHOWN_METRICS = (('abs_rel', 'AbsRel', '{:.3f}'), ('rmse', 'RMSE', '{:.3g} {u}'),
                 ('silog', 'SILog', '{:.2f}'), ('d1', 'd1', '{:.3f}'))
FONT = cv2.FONT_HERSHEY_SIMPLEX

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


def nice_ticks(lo: float, hi: float, scale: str = 'linear', max_ticks: int = 6) -> List[float]:
    """Round tick values inside ``[lo, hi]``: multiples of 1, 2 or 5 x 10^k (linear), or
    1-2-5 per decade (log / inverse); at least the two ends when nothing round fits."""
    if scale == 'linear':
        span = hi - lo
        for step in sorted(m * 10.0 ** e for e in range(math.floor(math.log10(span)) - 2,
                                                         math.floor(math.log10(span)) + 2)
                           for m in (1, 2, 5)):
            first = math.ceil(lo / step - 1e-9) * step
            ticks = [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]
            if len(ticks) <= max_ticks:
                break
    else:
        ticks = []
        for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
            ticks += [m * 10.0 ** e for m in (1, 2, 5) if lo - 1e-12 <= m * 10.0 ** e <= hi + 1e-12]
        while len(ticks) > max_ticks:
            ticks = ticks[::2]
    ticks = [float(f'{t:.6g}') for t in ticks if lo - 1e-9 <= t <= hi + 1e-9]
    return ticks if len(ticks) >= 2 else [lo, hi]


def format_value(value: float, unit: str = '', step: Optional[float] = None) -> str:
    """A tick label, then the unit (``'2.5 m'``): as many decimals as the spacing of the ticks
    (``step``) needs (scientific notation below 1e-3), else three significant digits."""
    if step is not None and step > 0:
        if step >= 1e-3:
            decimals = max(0, math.ceil(-math.log10(step) - 1e-9))
            text = f'{value:.{decimals}f}'
            if '.' in text:
                text = text.rstrip('0').rstrip('.')
        else:
            digits = max(1, math.ceil(math.log10(max(abs(value), step) / step) - 1e-9) + 1)
            text = f'{value:.{digits}e}' if digits > 6 else f'{value:.{digits}g}'
    else:
        text = f'{value:.0f}' if abs(value) >= 1000 else f'{value:.3g}'
    if 'e' in text:
        mantissa, exponent = text.split('e')
        text = f'{mantissa}e{int(exponent)}'
    return f'{text} {unit}'.strip()


# --------------------------------------------------------------------------- layout pieces

@dataclass
class Tick:
    """A colour-bar tick: its ``value``, ``label`` and pixel column ``x`` in the figure."""

    value: float
    label: str
    x: int


@dataclass
class PanelLayout:
    """Where a panel lies in the figure and what it shows.

    ``box`` is ``(x0, y0, x1, y1)`` (half open) of the picture; ``bar_box`` that of the colour
    bar's gradient (None without a bar); ``vrange`` the colour range; ``t_of`` names the mapping
    (a depth scale, or ``'values'`` for error / scale / shift maps).
    """

    name: str
    title: str
    box: Tuple[int, int, int, int]
    bar_box: Optional[Tuple[int, int, int, int]] = None
    ticks: List[Tick] = field(default_factory=list)
    vrange: Optional[Tuple[float, float]] = None
    cmap: Optional[str] = None
    t_of: Optional[str] = None
    unit: str = ''


@dataclass
class Figure:
    """A rendered picture (RGB uint8) and its layout, for saving, logging and checking."""

    image: np.ndarray
    panels: Dict[str, PanelLayout]
    metrics: Dict[str, Optional[dict]]
    caption: Optional[str] = None
    depth_range: Optional[Tuple[float, float]] = None
    units: str = 'm'
    notes: List[str] = field(default_factory=list)


@dataclass
class _Tile:
    name: str
    title: str
    picture: np.ndarray
    bar: Optional[dict] = None  # dict(lo, hi, cmap, scale|None, unit)


def _font_scale(width: int) -> float:
    return float(np.clip(width / 640.0, 0.36, 0.6))


def _text_height(fs: float) -> int:
    (_, h), base = cv2.getTextSize('Ag', FONT, fs, 1)
    return h + base


def put_text(img: np.ndarray, text: str, org: Tuple[int, int], fs: float,
             color=TEXT, thickness: int = 1) -> None:
    """``cv2.putText`` at the baseline-left ``org`` (RGB image, anti-aliased)."""
    cv2.putText(img, text, (int(org[0]), int(org[1])), FONT, fs, color, thickness, cv2.LINE_AA)


def wrap_text(text: str, width: int, fs: float) -> List[str]:
    """Greedy word wrap of ``text`` to lines at most ``width`` pixels wide."""
    lines: List[str] = []
    for paragraph in str(text).splitlines() or ['']:
        if cv2.getTextSize(paragraph, FONT, fs, 1)[0][0] <= width:
            lines.append(paragraph)  # fits: kept as written (spacing included)
            continue
        line = ''
        for word in paragraph.split():
            trial = f'{line} {word}'.strip()
            if line and cv2.getTextSize(trial, FONT, fs, 1)[0][0] > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def resize_masked(values: np.ndarray, valid: np.ndarray, size: Tuple[int, int]
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Resize a map with a validity mask to ``size = (h, w)``: nearest neighbour when
    enlarging; when shrinking, the mean of the valid pixels under each output pixel (so sparse
    GT such as KITTI's LiDAR points stays visible)."""
    h, w = size
    values = np.asarray(values, dtype=np.float32)
    valid = np.asarray(valid, dtype=bool)
    if values.shape == (h, w):
        return values, valid
    if h >= values.shape[0] and w >= values.shape[1]:
        v = cv2.resize(values, (w, h), interpolation=cv2.INTER_NEAREST)
        m = cv2.resize(valid.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        return v, m
    filled = np.where(valid, values, 0).astype(np.float32)
    total = cv2.resize(filled, (w, h), interpolation=cv2.INTER_AREA)
    frac = cv2.resize(valid.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    ok = frac > 1e-6
    return np.where(ok, total / np.maximum(frac, 1e-6), 0).astype(np.float32), ok


def _bar_gradient(width: int, height: int, bar: dict) -> np.ndarray:
    """The bar's colours, ``lo`` on the left: for a value map column ``x`` shows
    ``lo + (hi - lo) * x / (width - 1)``; for depth, the depth whose colour-map position is
    ``t = 1 - x / (width - 1)`` (near and warm on the left, evenly spaced in the depth scale)."""
    frac = np.arange(width) / max(width - 1, 1)
    if bar.get('scale') is not None:  # depth: near (t = 1) on the left, evenly in its scale
        colors = apply_colormap((1.0 - frac)[None], bar['cmap'])[0]
    else:
        colors = apply_colormap(frac[None], bar['cmap'])[0]
    return np.repeat(colors[None], height, axis=0)


def _bar_x(value: float, bar: dict, x0: int, width: int) -> int:
    """Column of ``value`` on a bar starting at ``x0``."""
    if bar.get('scale') is not None:
        frac = 1.0 - float(depth_to_unit(np.array([value]), bar['lo'], bar['hi'],
                                         bar['scale'])[0])
    else:
        frac = (value - bar['lo']) / (bar['hi'] - bar['lo'])
    return x0 + int(round(frac * (width - 1)))


def _bar_ticks(bar: dict) -> List[float]:
    if bar.get('scale') is not None:
        return nice_ticks(bar['lo'], bar['hi'], bar['scale'])
    return nice_ticks(bar['lo'], bar['hi'], 'linear')


def compose(tiles: Sequence[_Tile], ncols: int, panel_width: int,
            footer: Sequence[Tuple[str, tuple]] = ()) -> Tuple[np.ndarray, Dict[str, PanelLayout]]:
    """Lay tiles out on a grid (``ncols`` per row), each scaled to ``panel_width``, with a title
    above and (for tiles with one) a labelled colour bar below; then the footer lines
    ``(text, colour)``, wrapped to the figure's width."""
    fs = _font_scale(panel_width)
    th = _text_height(fs)
    pad = max(4, th // 3)
    aspect = max(t.picture.shape[0] / t.picture.shape[1] for t in tiles)
    pic_h = int(round(panel_width * aspect))
    bar_h = max(8, th)
    bar_area = bar_h + 4 + th + pad if any(t.bar for t in tiles) else 0
    cell_w = panel_width + 2 * pad
    cell_h = th + pad + pic_h + pad + bar_area
    ncols = max(1, min(ncols, len(tiles)))
    nrows = math.ceil(len(tiles) / ncols)
    width = ncols * cell_w
    footer_lines: List[Tuple[str, tuple]] = []
    for text, color in footer:
        footer_lines += [(line, color) for line in wrap_text(text, width - 2 * pad, fs)]
    height = nrows * cell_h + (len(footer_lines) * (th + 2) + pad if footer_lines else 0)
    canvas = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    layouts: Dict[str, PanelLayout] = {}
    for i, tile in enumerate(tiles):
        row, col = divmod(i, ncols)
        x0, y0 = col * cell_w + pad, row * cell_h
        put_text(canvas, tile.title, (x0, y0 + th - 2), fs)
        ph = int(round(panel_width * tile.picture.shape[0] / tile.picture.shape[1]))
        interp = cv2.INTER_AREA if tile.picture.shape[1] > panel_width else cv2.INTER_NEAREST
        pic = tile.picture if tile.picture.shape[:2] == (ph, panel_width) else cv2.resize(
            tile.picture, (panel_width, ph), interpolation=interp)
        py = y0 + th + pad
        canvas[py:py + ph, x0:x0 + panel_width] = pic
        layout = PanelLayout(name=tile.name, title=tile.title,
                             box=(x0, py, x0 + panel_width, py + ph))
        if tile.bar is not None:
            by = y0 + th + pad + pic_h + pad
            canvas[by:by + bar_h, x0:x0 + panel_width] = _bar_gradient(panel_width, bar_h,
                                                                       tile.bar)
            layout.bar_box = (x0, by, x0 + panel_width, by + bar_h)
            layout.vrange = (tile.bar['lo'], tile.bar['hi'])
            layout.cmap = tile.bar['cmap']
            layout.t_of = tile.bar.get('scale') or 'values'
            layout.unit = tile.bar.get('unit', '')
            last_right = -10 ** 6
            values = _bar_ticks(tile.bar)
            step = min(abs(b - a) for a, b in zip(values, values[1:])) \
                if tile.bar.get('scale') in (None, 'linear') else None
            for value in values:
                x = _bar_x(value, tile.bar, x0, panel_width)
                label = format_value(value, tile.bar.get('unit', ''), step)
                tw = cv2.getTextSize(label, FONT, fs, 1)[0][0]
                tx = int(np.clip(x - tw // 2, x0, x0 + panel_width - tw))
                if tx <= last_right + 3:
                    continue  # labels never overlap: a crowded tick is left out
                canvas[by + bar_h:by + bar_h + 4, x] = TEXT
                put_text(canvas, label, (tx, by + bar_h + 4 + th - 2), fs)
                layout.ticks.append(Tick(value=value, label=label, x=x))
                last_right = tx + tw
        layouts[tile.name] = layout
    y = nrows * cell_h + th
    for text, color in footer_lines:
        put_text(canvas, text, (pad, y - 2), fs, color)
        y += th + 2
    return canvas, layouts


# --------------------------------------------------------------------------- panels

def _as_map(x) -> Optional[np.ndarray]:
    """A ``(H, W)`` float array of an array / tensor / PixelData (or None)."""
    if x is None:
        return None
    data = getattr(x, 'data', x)
    if hasattr(data, 'detach'):
        data = data.detach().float().cpu().numpy()
    arr = np.asarray(data)
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(f'expected a (H, W) map, got shape {arr.shape}')
    return arr


def _as_image(image, size: Tuple[int, int]) -> np.ndarray:
    """RGB uint8 ``(h, w, 3)`` of an ``(H, W, 3)`` array or a ``(3, H, W)`` tensor, resized."""
    if image is None:
        return np.full(size + (3,), 200, dtype=np.uint8)
    if hasattr(image, 'detach'):
        image = image.detach().cpu().numpy()
        if image.ndim == 3 and image.shape[0] == 3:
            image = image.transpose(1, 2, 0)
    image = np.asarray(image)
    if image.dtype != np.uint8:
        scale = 255.0 if image.max() <= 1.0 + 1e-6 else 1.0
        image = np.clip(image * scale, 0, 255).astype(np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'expected an RGB image (H, W, 3), got shape {image.shape}')
    if image.shape[:2] != size:
        image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


def evaluation_mask(gt: np.ndarray, gt_valid: Optional[np.ndarray],
                    protocol: Optional[dict]) -> np.ndarray:
    """The pixels :class:`~tr2m.evaluation.DepthMetric` scores: ``eval_mask`` of the sample's
    protocol (range and crop) and its ``gt_valid``."""
    import torch

    from tr2m.evaluation.functional import eval_mask

    protocol = protocol or {}
    max_depth = protocol.get('max_depth')
    if max_depth is not None and math.isinf(max_depth):
        max_depth = None
    mask = eval_mask(torch.from_numpy(np.asarray(gt, dtype=np.float64)),
                     protocol.get('min_depth') or 0.0, max_depth,
                     protocol.get('crop')).numpy()
    if gt_valid is not None:
        mask &= np.asarray(gt_valid, dtype=bool)
    return mask


def image_metrics(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                  protocol: Optional[dict]) -> Optional[dict]:
    """``compute_depth_metrics`` of one image as the evaluation computes it (prediction clamped
    to the protocol's range); None without a valid pixel."""
    import torch

    from tr2m.evaluation.functional import compute_depth_metrics

    if not mask.any():
        return None
    protocol = protocol or {}
    lo = protocol.get('min_depth') or 1e-6
    hi = protocol.get('max_depth')
    p = torch.from_numpy(np.asarray(pred, dtype=np.float64)).clamp(
        min=max(lo, 1e-6), max=None if hi is None or math.isinf(hi) else hi)
    return compute_depth_metrics(p, torch.from_numpy(np.asarray(gt, dtype=np.float64)),
                                 torch.from_numpy(mask))


def format_metrics(metrics: Optional[dict], unit: str = 'm') -> str:
    """``AbsRel 0.123  RMSE 0.45 m  SILog 12.3  d1 0.812`` (or a note without GT)."""
    if not metrics:
        return 'no valid GT pixel: no metrics'
    return '  '.join(f'{label} ' + fmt.format(metrics[key], u=unit)
                     for key, label, fmt in SHOWN_METRICS if key in metrics)


def _range_mask(gt, valid, protocol) -> Optional[np.ndarray]:
    """GT pixels the ``'image'`` range is taken from: valid and inside the protocol's depth
    range (the crop is not applied: the GT panel shows the whole frame)."""
    if gt is None:
        return None
    return evaluation_mask(gt, valid, dict(protocol or {}, crop=None))


def _range_for(mode, gt, mask, pred, protocol, percentiles) -> Tuple[float, float]:
    """The depth colour range of one image (see the module docstring)."""
    if isinstance(mode, (tuple, list)):
        lo, hi = float(mode[0]), float(mode[1])
        if not 0 <= lo < hi:
            raise ValueError(f'depth_range must be (lo, hi) with 0 <= lo < hi, got {mode}')
        return lo, hi
    if mode == 'protocol':
        protocol = protocol or {}
        lo, hi = protocol.get('min_depth') or 0.0, protocol.get('max_depth')
        if hi is not None and not math.isinf(hi):
            if lo <= 0:
                ref = robust_range(gt if gt is not None else pred,
                                   mask if gt is not None else None, percentiles)
                lo = min(ref[0], hi * 0.5) if ref else hi * 1e-3
            return float(lo), float(hi)
        mode = 'image'  # no upper bound in the protocol: fall back to the image
    if mode == 'image':
        found = robust_range(gt, mask, percentiles) if gt is not None else None
        found = found or robust_range(pred, None, percentiles)
        return found or (1.0, 10.0)
    raise ValueError(f"depth_range must be 'image', 'protocol' or (lo, hi), got {mode!r}")


def _error_range(errors: Sequence[np.ndarray], masks: Sequence[np.ndarray], error_max) -> float:
    if error_max is not None:
        return float(error_max)
    vals = [e[m] for e, m in zip(errors, masks) if m.any()]
    if not vals:
        return 1.0
    top = float(np.percentile(np.concatenate(vals), 95))
    return nice_ceil(max(top, 1e-3))


def nice_ceil(x: float) -> float:
    """The smallest 1, 2 or 5 x 10^k that is >= ``x``."""
    e = math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * 10.0 ** e >= x - 1e-12:
            return float(f'{m * 10.0 ** e:.6g}')
    return float(10.0 ** (e + 1))


@dataclass
class DepthStyle:
    """How depth pictures look (every renderer takes one; :class:`DepthVisualizer` holds one).

    Args:
        cmap (str): depth colour map (:data:`COLORMAPS`). Defaults to 'turbo'.
        depth_scale (str): ``'linear'``, ``'log'`` or ``'inverse'``. Defaults to 'linear'.
        depth_range: ``'image'``, ``'protocol'`` or ``(lo, hi)`` in the sample's unit.
            Defaults to 'image'.
        percentiles (tuple): percentiles of the ``'image'`` range. Defaults to (1, 99).
        error_cmap (str): colour map of the AbsRel error. Defaults to 'inferno'.
        error_max (float, optional): fixed top of the error bar; None: the 95th percentile of
            the image's errors rounded up to 1/2/5 x 10^k. Defaults to None.
        map_cmap (str): colour map of the scale and shift maps. Defaults to 'viridis'.
        invalid (str): ``'hatch'`` or ``'grey'``. Defaults to 'hatch'.
        panel_width (int): width of each panel in pixels. Defaults to 320.
        ncols (int): panels per row. Defaults to 3.
    """

    cmap: str = 'turbo'
    depth_scale: str = 'linear'
    depth_range: Union[str, Tuple[float, float]] = 'image'
    percentiles: Tuple[float, float] = (1.0, 99.0)
    error_cmap: str = 'inferno'
    error_max: Optional[float] = None
    map_cmap: str = 'viridis'
    invalid: str = 'hatch'
    panel_width: int = 320
    ncols: int = 3

    def __post_init__(self) -> None:
        for name in (self.cmap, self.error_cmap, self.map_cmap):
            colormap_lut(name)  # raises on an unknown name
        if self.depth_scale not in DEPTH_SCALES:
            raise ValueError(f'unknown depth_scale {self.depth_scale!r}; valid: {DEPTH_SCALES}')
        if self.invalid not in ('hatch', 'grey'):
            raise ValueError(f"invalid must be 'hatch' or 'grey', got {self.invalid!r}")
        if isinstance(self.depth_range, list):
            self.depth_range = tuple(self.depth_range)


def _depth_tile(name, title, depth, valid, lo, hi, unit, style) -> _Tile:
    pic = colorize_depth(depth, lo, hi, valid, style.cmap, style.depth_scale, style.invalid)
    return _Tile(name, title, pic, dict(lo=lo, hi=hi, cmap=style.cmap, scale=style.depth_scale,
                                        unit=unit))


def _display(values: np.ndarray, valid: np.ndarray, style: DepthStyle) -> Tuple[np.ndarray,
                                                                                 np.ndarray]:
    """``values`` and ``valid`` at the panel's display size (see :func:`resize_masked`)."""
    h, w = values.shape
    return resize_masked(values, valid, (int(round(style.panel_width * h / w)),
                                         style.panel_width))


def render_panels(image=None, pred=None, gt=None, gt_valid=None, scale=None, shift=None,
                  caption: Optional[str] = None, protocol: Optional[dict] = None,
                  style: Optional[DepthStyle] = None, title: Optional[str] = None,
                  notes: Sequence[str] = (), warnings: Sequence[str] = ()) -> Figure:
    """image | GT | prediction | AbsRel error | scale A | shift B, with caption and metrics.

    Panels without data are left out (no GT: no GT and error panels; a model without scale /
    shift maps: no A / B panels). All maps are shown at the prediction's resolution (the GT's,
    for test samples); metrics are computed there, on the evaluation mask of ``protocol``.

    Args:
        image: RGB uint8 ``(H, W, 3)`` or a ``(3, H, W)`` tensor (resized to the prediction).
        pred: predicted depth ``(H, W)`` (array, tensor or PixelData).
        gt, gt_valid: GT depth and validity ``(H, W)``, optional.
        scale, shift: the scale map ``A`` and shift map ``B`` ``(H, W)``, optional.
        caption (str, optional): written under the panels.
        protocol (dict, optional): the sample's protocol (``units``, ``min_depth``,
            ``max_depth``, ``crop``): unit of the bars, range, evaluation mask.
        style (DepthStyle, optional): look. Defaults to ``DepthStyle()``.
        title (str, optional): first footer line (e.g. the model and checkpoint).
        notes (Sequence[str]): more footer lines.
        warnings (Sequence[str]): footer lines in red (e.g. an untrained model).

    Returns:
        Figure: the picture and its layout (panels ``image gt pred error scale shift``).
    """
    style = style or DepthStyle()
    pred = _as_map(pred)
    if pred is None:
        raise ValueError('render_panels needs a prediction')
    protocol = dict(protocol or {})
    unit = protocol.get('units') or 'm'
    gt = _as_map(gt)
    valid = _as_map(gt_valid)
    if gt is not None and gt.shape != pred.shape:
        raise ValueError(f'gt {gt.shape} and pred {pred.shape} differ in size')
    mask = evaluation_mask(gt, valid, protocol) if gt is not None else None
    lo, hi = _range_for(style.depth_range, gt, _range_mask(gt, valid, protocol), pred,
                        protocol, style.percentiles)
    size = pred.shape
    tiles = [_Tile('image', 'image', _as_image(image, size))]
    metrics = None
    if gt is not None:
        gv = (valid.astype(bool) if valid is not None else np.ones(size, bool)) & (gt > 0)
        d, m = _display(gt, gv, style)
        tiles.append(_depth_tile('gt', f'ground truth ({unit})', d, m, lo, hi, unit, style))
    d, m = _display(pred, np.isfinite(pred) & (pred > 0), style)
    tiles.append(_depth_tile('pred', f'prediction ({unit})', d, m, lo, hi, unit, style))
    if gt is not None:
        metrics = image_metrics(pred, gt, mask, protocol)
        err = np.where(mask, np.abs(pred - gt) / np.where(mask, gt, 1.0), 0.0)
        top = _error_range([err], [mask], style.error_max)
        e, m = _display(err, mask, style)
        tiles.append(_Tile('error', 'AbsRel |D - D*| / D*',
                           colorize_values(e, 0.0, top, m, style.error_cmap, style.invalid),
                           dict(lo=0.0, hi=top, cmap=style.error_cmap, unit='')))
    for name, values, label in (('scale', _as_map(scale), 'scale A'),
                                ('shift', _as_map(shift), 'shift B')):
        if values is None:
            continue
        rng = robust_range(values, None, style.percentiles, positive=False) or (0.0, 1.0)
        v, m = _display(values, np.isfinite(values), style)
        tiles.append(_Tile(name, f'{label} (1/{unit})',
                           colorize_values(v, rng[0], rng[1], m, style.map_cmap, style.invalid),
                           dict(lo=rng[0], hi=rng[1], cmap=style.map_cmap, unit='')))
    footer = [(w, WARNING) for w in warnings]
    if title:
        footer.append((title, TEXT))
    if caption:
        footer.append((f'caption: "{caption}"', TEXT))
    if gt is not None:
        footer.append((format_metrics(metrics, unit), TEXT))
    footer += [(n, TEXT) for n in notes]
    canvas, layouts = compose(tiles, style.ncols, style.panel_width, footer)
    return Figure(canvas, layouts, dict(pred=metrics), caption, (lo, hi), unit,
                  [*warnings, *notes])


def render_comparison(image=None, preds: Sequence[dict] = (), names: Sequence[str] = ('A', 'B'),
                      gt=None, gt_valid=None, caption: Optional[str] = None,
                      protocol: Optional[dict] = None, style: Optional[DepthStyle] = None,
                      warnings: Sequence[str] = ()) -> Figure:
    """Two (or more) models on the same image, side by side, on one colour scale.

    Row 1: image | prediction of each model; row 2 (with GT): GT | AbsRel error of each model
    (one error scale), so each model's error sits under its prediction. The footer holds the
    caption and one metrics line per model.

    Args:
        image: RGB image (see :func:`render_panels`).
        preds (Sequence[dict]): per model ``dict(depth=..., scale=..., shift=...)`` (scale and
            shift optional and not drawn here), all at the GT / same resolution.
        names (Sequence[str]): model names, one per prediction.
        gt, gt_valid, caption, protocol, style, warnings: as in :func:`render_panels`.

    Returns:
        Figure: panels ``image``, ``pred_<i>``, ``gt``, ``error_<i>``; ``metrics`` per name.
    """
    style = style or DepthStyle()
    if len(preds) < 2 or len(names) != len(preds):
        raise ValueError(f'render_comparison needs >= 2 predictions and one name each, got '
                         f'{len(preds)} predictions and {len(names)} names')
    depths = [_as_map(p['depth'] if isinstance(p, dict) else p) for p in preds]
    if len({d.shape for d in depths}) != 1:
        raise ValueError(f'predictions differ in size: {[d.shape for d in depths]}')
    protocol = dict(protocol or {})
    unit = protocol.get('units') or 'm'
    gt = _as_map(gt)
    valid = _as_map(gt_valid)
    mask = evaluation_mask(gt, valid, protocol) if gt is not None else None
    lo, hi = _range_for(style.depth_range, gt, _range_mask(gt, valid, protocol), depths[0],
                        protocol, style.percentiles)
    size = depths[0].shape
    tiles = [_Tile('image', 'image', _as_image(image, size))]
    for i, (depth, name) in enumerate(zip(depths, names)):
        d, m = _display(depth, np.isfinite(depth) & (depth > 0), style)
        tiles.append(_depth_tile(f'pred_{i}', f'{name} ({unit})', d, m, lo, hi, unit, style))
    metrics: Dict[str, Optional[dict]] = {}
    footer = [(w, WARNING) for w in warnings]
    if caption:
        footer.append((f'caption: "{caption}"', TEXT))
    if gt is not None:
        gv = (valid.astype(bool) if valid is not None else np.ones(size, bool)) & (gt > 0)
        d, m = _display(gt, gv, style)
        tiles.append(_depth_tile('gt', f'ground truth ({unit})', d, m, lo, hi, unit, style))
        errors = [np.where(mask, np.abs(p - gt) / np.where(mask, gt, 1.0), 0.0) for p in depths]
        top = _error_range(errors, [mask] * len(errors), style.error_max)
        for i, (err, name) in enumerate(zip(errors, names)):
            e, m = _display(err, mask, style)
            tiles.append(_Tile(f'error_{i}', f'{name}: AbsRel',
                               colorize_values(e, 0.0, top, m, style.error_cmap, style.invalid),
                               dict(lo=0.0, hi=top, cmap=style.error_cmap, unit='')))
            metrics[name] = image_metrics(depths[i], gt, mask, protocol)
            footer.append((f'{name}: {format_metrics(metrics[name], unit)}', TEXT))
    canvas, layouts = compose(tiles, len(depths) + 1, style.panel_width, footer)
    return Figure(canvas, layouts, metrics, caption, (lo, hi), unit, list(warnings))


def save_rgb(path: str, image: np.ndarray) -> str:
    """Write an RGB image (creating folders; PNG at zlib level 6); returns ``path``.

    Raises:
        OSError: OpenCV could not write the file.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    params = [cv2.IMWRITE_PNG_COMPRESSION, 6] if path.lower().endswith('.png') else []
    if not cv2.imwrite(path, np.ascontiguousarray(image[..., ::-1]), params):
        raise OSError(f'could not write image {path}')
    return path


__all__ = ['COLORMAPS', 'DEPTH_SCALES', 'HATCH_GREYS', 'INVALID_GREY', 'DepthStyle', 'Figure',
           'PanelLayout', 'Tick', 'colormap_lut', 'apply_colormap', 'depth_to_unit',
           'colorize_depth', 'colorize_values', 'hatch', 'nice_ticks', 'robust_range',
           'render_panels', 'render_comparison', 'evaluation_mask', 'image_metrics',
           'format_metrics', 'save_rgb', 'resize_masked', 'compose', 'put_text']
