"""Figure layout of the depth pictures: tiles on a grid with titles, labelled colour bars with
round ticks, wrapped footer text (pure numpy + OpenCV; RGB uint8 throughout).

Every renderer returns a :class:`Figure`: the picture plus where each panel, bar and tick is
(pixel boxes) and the numbers drawn, so tests and callers can check the picture as an array.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from tr2m.visualization.colormaps import apply_colormap, depth_to_unit

#: Background, text and warning colours (RGB).
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)
WARNING = (200, 0, 0)
FONT = cv2.FONT_HERSHEY_SIMPLEX


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


__all__ = ['BACKGROUND', 'TEXT', 'WARNING', 'FONT', 'Tick', 'PanelLayout', 'Figure',
           'nice_ticks', 'format_value', 'put_text', 'wrap_text', 'resize_masked', 'compose']
