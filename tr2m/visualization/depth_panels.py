"""Depth pictures for papers: colour-mapped depth with a colour bar in metres (or millimetres),
hatched invalid pixels, and the panels image | GT | prediction | AbsRel error | scale A | shift B
with the caption and the image's metrics written under them.

Pure numpy + OpenCV (text with ``cv2.putText``); images are **RGB** uint8 ``(H, W, 3)``
throughout (write them with ``cv2.imwrite(path, img[..., ::-1])`` or :func:`save_rgb`). Colour
maps, depth scales and the invalid-pixel hatching are :mod:`tr2m.visualization.colormaps`'s; the
grid, bars and ticks :mod:`tr2m.visualization.layout`'s (both re-exported here).

Conventions:

- **Range**: ``'image'`` (1st..99th percentile of the valid GT inside the protocol's depth
  range, else of the prediction; GT and prediction share it), ``'protocol'`` (the sample's
  evaluation range ``min_depth..max_depth``) or a fixed ``(lo, hi)`` in the sample's unit.
  Values outside are clipped to the bar's ends.
- **Evaluation mask and metrics**: exactly :class:`~tr2m.evaluation.DepthMetric`'s, from the
  sample's :class:`~tr2m.structures.DepthProtocol` through :mod:`tr2m.functional`
  (``eval_mask``, ``clamp_to_range``, ``compute_depth_metrics``).
- **Units**: each sample's protocol ``units`` (``'m'`` or ``'mm'``) labels the depth bars; scale
  and shift maps (``D = 1 / (A * Dr + B)`` with a unitless ``Dr``) are labelled ``1/m``
  (``1/mm``).
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from tr2m.functional import clamp_to_range, compute_depth_metrics, eval_mask
from tr2m.structures import DepthProtocol
from tr2m.visualization.colormaps import (  # noqa: F401 (re-exported)
    COLORMAPS,
    DEPTH_SCALES,
    HATCH_GREYS,
    INVALID_GREY,
    SPECTRAL_11,
    apply_colormap,
    colorize_depth,
    colorize_values,
    colormap_lut,
    depth_to_unit,
    hatch,
    nice_ceil,
    robust_range,
)
from tr2m.visualization.layout import (  # noqa: F401 (re-exported)
    BACKGROUND,
    FONT,
    TEXT,
    WARNING,
    Figure,
    PanelLayout,
    Tick,
    _Tile,
    compose,
    format_value,
    nice_ticks,
    put_text,
    resize_masked,
    wrap_text,
)

#: Panels of :func:`render_panels`, in order.
PANEL_NAMES = ('image', 'gt', 'pred', 'error', 'scale', 'shift')
#: Metrics written under the panels (keys of ``compute_depth_metrics``) and their labels.
SHOWN_METRICS = (('abs_rel', 'AbsRel', '{:.3f}'), ('rmse', 'RMSE', '{:.3g} {u}'),
                 ('silog', 'SILog', '{:.2f}'), ('d1', 'd1', '{:.3f}'))


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


ProtocolLike = Union[DepthProtocol, dict, None]


def evaluation_mask(gt: np.ndarray, gt_valid: Optional[np.ndarray],
                    protocol: ProtocolLike) -> np.ndarray:
    """The pixels :class:`~tr2m.evaluation.DepthMetric` scores: ``eval_mask`` of the sample's
    protocol (range and crop) and its ``gt_valid`` (None: the default protocol)."""
    p = DepthProtocol.coerce(protocol)
    valid = None if gt_valid is None else torch.from_numpy(np.asarray(gt_valid, dtype=bool))
    return eval_mask(torch.from_numpy(np.asarray(gt, dtype=np.float64)), p.min_depth,
                     p.max_depth, p.crop, valid=valid).numpy()


def image_metrics(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                  protocol: ProtocolLike) -> Optional[dict]:
    """``compute_depth_metrics`` of one image as the evaluation computes it (prediction clamped
    to the protocol's range); None without a valid pixel."""
    if not mask.any():
        return None
    p = DepthProtocol.coerce(protocol)
    pred = clamp_to_range(torch.from_numpy(np.asarray(pred, dtype=np.float64)), p.min_depth,
                          p.max_depth)
    return compute_depth_metrics(pred, torch.from_numpy(np.asarray(gt, dtype=np.float64)),
                                 torch.from_numpy(mask))


def format_metrics(metrics: Optional[dict], unit: str = 'm') -> str:
    """``AbsRel 0.123  RMSE 0.45 m  SILog 12.3  d1 0.812`` (or a note without GT)."""
    if not metrics:
        return 'no valid GT pixel: no metrics'
    return '  '.join(f'{label} ' + fmt.format(metrics[key], u=unit)
                     for key, label, fmt in SHOWN_METRICS if key in metrics)


def _range_mask(gt, valid, protocol: DepthProtocol) -> Optional[np.ndarray]:
    """GT pixels the ``'image'`` range is taken from: valid and inside the protocol's depth
    range (the crop is not applied: the GT panel shows the whole frame)."""
    if gt is None:
        return None
    return evaluation_mask(gt, valid, protocol.replace(crop=None))


def _range_for(mode, gt, mask, pred, protocol: DepthProtocol,
               percentiles) -> Tuple[float, float]:
    """The depth colour range of one image (see the module docstring)."""
    if isinstance(mode, (tuple, list)):
        lo, hi = float(mode[0]), float(mode[1])
        if not 0 <= lo < hi:
            raise ValueError(f'depth_range must be (lo, hi) with 0 <= lo < hi, got {mode}')
        return lo, hi
    if mode == 'protocol':
        lo, hi = protocol.depth_range
        if hi is not None:
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


def constant_value(values: np.ndarray, rtol: float = 1e-6) -> Optional[float]:
    """The value of a map that is one constant on all its finite pixels (spread at most
    ``rtol`` times its largest magnitude, e.g. a dead shift map sitting on its 1e-9 floor),
    else None (also for a map without a finite pixel)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo <= rtol * max(abs(lo), abs(hi)):
        return float(np.median(finite))
    return None


def _display(values: np.ndarray, valid: np.ndarray, style: DepthStyle) -> Tuple[np.ndarray,
                                                                                 np.ndarray]:
    """``values`` and ``valid`` at the panel's display size (see :func:`resize_masked`)."""
    h, w = values.shape
    return resize_masked(values, valid, (int(round(style.panel_width * h / w)),
                                         style.panel_width))


def render_panels(image=None, pred=None, gt=None, gt_valid=None, scale=None, shift=None,
                  caption: Optional[str] = None, protocol: ProtocolLike = None,
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
        protocol (DepthProtocol | dict, optional): the sample's protocol (``units``,
            ``min_depth``, ``max_depth``, ``crop``): unit of the bars, range, evaluation mask.
            Defaults to None (the default protocol).
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
    protocol = DepthProtocol.coerce(protocol)
    unit = protocol.units
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
        v, m = _display(values, np.isfinite(values), style)
        const = constant_value(values)
        if const is not None:  # one value everywhere: say so, no colour bar over nothing
            tiles.append(_Tile(name, f'{label} (1/{unit}): constant {const:.3g}',
                               colorize_values(v, const - 1.0, const + 1.0, m, style.map_cmap,
                                               style.invalid)))
            continue
        rng = robust_range(values, None, style.percentiles, positive=False) or (0.0, 1.0)
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
                      protocol: ProtocolLike = None, style: Optional[DepthStyle] = None,
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
    protocol = DepthProtocol.coerce(protocol)
    unit = protocol.units
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
