"""Line plots of training curves drawn with OpenCV (no plotting library needed): axes with
round ticks, a grid, a legend, linear or log y. RGB uint8 images, like :mod:`depth_panels`."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from tr2m.visualization.depth_panels import BACKGROUND, TEXT, format_value, nice_ticks, put_text

#: Line colours (the "tab10" palette's RGB values), cycled over the series.
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
GRID = (225, 225, 225)

Series = Dict[str, Tuple[Sequence[float], Sequence[float]]]


def _finite(xs, ys, log_y: bool) -> Tuple[np.ndarray, np.ndarray]:
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y) & ((y > 0) if log_y else True)
    return x[ok], y[ok]


def plot_curves(series: Series, title: str = '', xlabel: str = '', log_y: bool = False,
                size: Tuple[int, int] = (360, 640), fs: float = 0.45) -> np.ndarray:
    """One plot of several ``{name: (x, y)}`` series; returns RGB ``size = (H, W)``.

    Non-finite points (and non-positive ones with ``log_y``) are skipped; a series with one
    point is drawn as a dot. The legend lists each series with its last value.
    """
    h, w = size
    img = np.full((h, w, 3), BACKGROUND, dtype=np.uint8)
    data = {k: _finite(x, y, log_y) for k, (x, y) in series.items()}
    data = {k: v for k, v in data.items() if v[0].size}
    (_, th), base = cv2.getTextSize('Ag', cv2.FONT_HERSHEY_SIMPLEX, fs, 1)
    th += base
    left, right, top, bottom = 64, 12, th + 10, 2 * th + 12
    put_text(img, title, (left, th), fs)
    if not data:
        put_text(img, 'no data', (left, h // 2), fs)
        return img
    xs = np.concatenate([v[0] for v in data.values()])
    ys = np.concatenate([v[1] for v in data.values()])
    x0, x1 = float(xs.min()), float(xs.max())
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    tf = (lambda v: np.log10(v)) if log_y else (lambda v: np.asarray(v, dtype=np.float64))
    y0, y1 = float(tf(ys).min()), float(tf(ys).max())
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = 0.05 * (y1 - y0)
    y0, y1 = y0 - pad, y1 + pad
    pw, ph = w - left - right, h - top - bottom

    def px(x):
        return left + (np.asarray(x) - x0) / (x1 - x0) * pw

    def py(y):
        return top + ph - (tf(y) - y0) / (y1 - y0) * ph

    xticks = nice_ticks(x0, x1, 'linear', max_ticks=6)
    ylo, yhi = (10 ** y0, 10 ** y1) if log_y else (y0, y1)
    yticks = nice_ticks(ylo, yhi, 'log' if log_y else 'linear', max_ticks=6)
    ystep = min((b - a for a, b in zip(yticks, yticks[1:])), default=None) if not log_y else None
    xstep = min((b - a for a, b in zip(xticks, xticks[1:])), default=None)
    for t in xticks:
        x = int(round(float(px(t))))
        cv2.line(img, (x, top), (x, top + ph), GRID, 1)
        label = format_value(t, '', xstep)
        tw = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, fs, 1)[0][0]
        put_text(img, label, (x - tw // 2, top + ph + th + 2), fs)
    for t in yticks:
        y = int(round(float(py(t))))
        cv2.line(img, (left, y), (left + pw, y), GRID, 1)
        label = format_value(t, '', ystep)
        tw = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, fs, 1)[0][0]
        put_text(img, label, (left - tw - 6, y + th // 3), fs)
    cv2.rectangle(img, (left, top), (left + pw, top + ph), TEXT, 1)
    if xlabel:
        tw = cv2.getTextSize(xlabel, cv2.FONT_HERSHEY_SIMPLEX, fs, 1)[0][0]
        put_text(img, xlabel, (left + (pw - tw) // 2, h - 4), fs)
    labels = []
    for i, (name, (x, y)) in enumerate(data.items()):
        color = PALETTE[i % len(PALETTE)]
        pts = np.stack([px(x), py(y)], 1).round().astype(np.int32)
        if len(pts) == 1:
            cv2.circle(img, tuple(int(v) for v in pts[0]), 3, color, -1, cv2.LINE_AA)
        else:
            cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, color, 2, cv2.LINE_AA)
        labels.append((f'{name} {format_value(float(y[-1]))}', color))
    # legend (name and last value) on a white box in the top-right corner
    widths = [cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, fs, 1)[0][0] for t, _ in labels]
    box_w, box_h = max(widths) + 36, len(labels) * (th + 2) + 6
    bx = left + pw - box_w - 4
    cv2.rectangle(img, (bx, top + 4), (bx + box_w, top + 4 + box_h), BACKGROUND, -1)
    cv2.rectangle(img, (bx, top + 4), (bx + box_w, top + 4 + box_h), GRID, 1)
    ly = top + 4 + th
    for label, color in labels:
        cv2.line(img, (bx + 6, ly - th // 3), (bx + 26, ly - th // 3), color, 2)
        put_text(img, label, (bx + 32, ly), fs)
        ly += th + 2
    return img


def grid(images: List[np.ndarray], ncols: int = 2) -> np.ndarray:
    """Tile same-size images on a grid (blank cells filled white)."""
    if not images:
        raise ValueError('grid needs at least one image')
    h, w = images[0].shape[:2]
    rows = math.ceil(len(images) / ncols)
    out = np.full((rows * h, min(ncols, len(images)) * w, 3), BACKGROUND, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        out[r * h:(r + 1) * h, c * w:(c + 1) * w] = img
    return out


def last_value(series: Series, name: str) -> Optional[float]:
    """Last finite value of a series (None if it has none)."""
    x, y = _finite(*series[name], log_y=False)
    return float(y[-1]) if y.size else None


__all__ = ['plot_curves', 'grid', 'last_value', 'PALETTE']
