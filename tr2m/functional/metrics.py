"""The standard depth metrics, as sums over valid pixels that aggregate exactly.

Metric definitions (BTS / AdaBins / ZoeDepth), with ``p`` the prediction, ``g`` the ground truth
and means over valid pixels:

- ``abs_rel = mean(|p - g| / g)``, ``sq_rel = mean((p - g)^2 / g)``
- ``rmse = sqrt(mean((p - g)^2))``, ``rmse_log = sqrt(mean((log p - log g)^2))``
- ``log10 = mean(|log10 p - log10 g|)`` (mean ABSOLUTE error; the paper's table 6 squares it)
- ``silog = 100 * sqrt(mean(e^2) - mean(e)^2)`` with ``e = log p - log g`` (the BTS / AdaBins
  convention: variance weight 1, square root, times 100)
- ``d_k = mean(max(p / g, g / p) < 1.25^k)`` for k = 1, 2, 3

Every metric is a function of ten sums over the valid pixels (:data:`SUM_KEYS`), so per-image
results can be pooled exactly over any set of pixels (:func:`depth_metric_sums`,
:func:`metrics_from_sums`, :func:`aggregate_metric_sums`). Computed in float64.
"""
import math
from typing import Dict, Sequence

import numpy as np
import torch
from torch import Tensor

#: Keys of :func:`compute_depth_metrics`, in reporting order.
METRIC_KEYS = ('abs_rel', 'sq_rel', 'rmse', 'rmse_log', 'log10', 'silog', 'd1', 'd2', 'd3')
#: Sums over valid pixels that every metric is derived from (see :func:`depth_metric_sums`).
SUM_KEYS = ('count', 'abs_rel', 'sq_rel', 'sq_err', 'log_sq_err', 'log10', 'log_err',
            'd1', 'd2', 'd3')
#: Base of the threshold accuracies: a pixel is a ``d_k`` inlier when
#: ``max(p / g, g / p) < DELTA_THRESHOLD ** k``.
DELTA_THRESHOLD = 1.25
#: How per-image results combine: the mean over images, or all pixels pooled.
AGGREGATIONS = ('per_image', 'pixel')


def delta_ratio(pred: Tensor, gt: Tensor) -> Tensor:
    """``max(pred / gt, gt / pred)``, the ratio the threshold accuracies ``d_k`` test."""
    return torch.maximum(pred / gt, gt / pred)


def delta1_per_image(pred: Tensor, gt: Tensor, valid: Tensor) -> Tensor:
    """Fraction of each image's ``valid`` pixels with ``max(p / g, g / p) < 1.25`` (``d1``).

    A non-positive or non-finite prediction at a valid pixel counts as a failure; an image
    without a valid pixel gets 0. Tensors broadcast; the fraction is over the last two dims.

    Returns:
        Tensor: ``(...)`` (the leading shape), at least float32.
    """
    usable = torch.isfinite(pred) & (pred > 0)
    safe_p = torch.where(usable, pred, torch.ones_like(pred))
    safe_g = torch.where(valid, gt, torch.ones_like(gt))
    inlier = valid & usable & (delta_ratio(safe_p, safe_g) < DELTA_THRESHOLD)
    count = valid.flatten(-2).sum(-1)
    frac = inlier.flatten(-2).sum(-1) / count.clamp_min(1)
    return frac.to(torch.promote_types(gt.dtype, torch.float32))


def depth_metric_sums(pred: Tensor, gt: Tensor, valid_mask: Tensor) -> Tensor:
    """The sums of :data:`SUM_KEYS` over the valid pixels, float64 ``(10,)``.

    All valid pixels of the input are pooled (a batch ``(B, ..., H, W)`` gives one vector).
    Sums of several images add up to the sums of their pooled pixels.

    Raises:
        ValueError: no valid pixel; NaN / inf / non-positive prediction or ground truth at a
            valid pixel; shapes that do not match.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'pred has shape {tuple(pred.shape)} but gt has {tuple(gt.shape)}')
    try:
        mask = torch.broadcast_to(valid_mask.bool(), gt.shape)
    except RuntimeError as err:
        raise ValueError(f'valid_mask of shape {tuple(valid_mask.shape)} does not broadcast to '
                         f'{tuple(gt.shape)}') from err
    if not bool(mask.any()):
        raise ValueError('no valid pixel to evaluate: the mask (GT range, crop, validity) '
                         'is empty')
    p = pred[mask].double()
    g = gt[mask].double()
    bad = ~torch.isfinite(p)
    if bool(bad.any()):
        n_nan = int(torch.isnan(p).sum())
        raise ValueError(f'prediction has {n_nan} NaN and {int(bad.sum()) - n_nan} inf values '
                         'at valid pixels')
    if bool((p <= 0).any()):
        raise ValueError(f'prediction has {int((p <= 0).sum())} non-positive values at valid '
                         'pixels (clamp it to the minimum depth first)')
    if bool((~torch.isfinite(g) | (g <= 0)).any()):
        raise ValueError('ground truth has NaN/inf/non-positive values at valid pixels '
                         '(build the mask with eval_mask)')
    diff = p - g
    log_err = p.log() - g.log()
    ratio = delta_ratio(p, g)
    return torch.stack([
        torch.tensor(float(p.numel()), dtype=torch.float64, device=p.device),
        (diff.abs() / g).sum(),
        (diff * diff / g).sum(),
        (diff * diff).sum(),
        (log_err * log_err).sum(),
        (p.log10() - g.log10()).abs().sum(),
        log_err.sum(),
        (ratio < DELTA_THRESHOLD).sum().double(),
        (ratio < DELTA_THRESHOLD ** 2).sum().double(),
        (ratio < DELTA_THRESHOLD ** 3).sum().double(),
    ])


def metrics_from_sums(sums: Tensor) -> Dict[str, float]:
    """Metrics (:data:`METRIC_KEYS`) from the sums of :func:`depth_metric_sums`.

    Raises:
        ValueError: the sums cover no pixel.
    """
    s = dict(zip(SUM_KEYS, (float(v) for v in sums)))
    n = s['count']
    if not n > 0:
        raise ValueError('no valid pixel to evaluate: the sums cover 0 pixels')
    mean_log = s['log_err'] / n
    # mean(e^2) - mean(e)^2 can come out a hair below 0 through rounding
    variance = max(s['log_sq_err'] / n - mean_log * mean_log, 0.0)
    return dict(
        abs_rel=s['abs_rel'] / n,
        sq_rel=s['sq_rel'] / n,
        rmse=math.sqrt(s['sq_err'] / n),
        rmse_log=math.sqrt(s['log_sq_err'] / n),
        log10=s['log10'] / n,
        silog=100.0 * math.sqrt(variance),
        d1=s['d1'] / n,
        d2=s['d2'] / n,
        d3=s['d3'] / n,
    )


def compute_depth_metrics(pred: Tensor, gt: Tensor, valid_mask: Tensor) -> Dict[str, float]:
    """The standard depth metrics of one image (see the module docstring for the formulas).

    Args:
        pred (Tensor): predicted depth ``(..., H, W)``, positive and finite at valid pixels
            (clamp it to the evaluation range first).
        gt (Tensor): ground-truth depth, same shape and unit.
        valid_mask (Tensor): bool, broadcastable to ``gt`` (e.g. from :func:`eval_mask`).

    Returns:
        dict: ``abs_rel sq_rel rmse rmse_log log10 silog d1 d2 d3`` as Python floats. A batch
        is NOT averaged per image: all valid pixels of the input are pooled. Average the
        per-image results yourself (or use :func:`aggregate_metric_sums`, or
        :class:`~tr2m.evaluation.DepthMetric`) for the per-image protocol.

    Raises:
        ValueError: no valid pixel, or a NaN / inf / non-positive prediction at a valid pixel.
    """
    return metrics_from_sums(depth_metric_sums(pred, gt, valid_mask))


def aggregate_metric_sums(sums: Sequence[Tensor], aggregation: str = 'per_image'
                          ) -> Dict[str, float]:
    """Metrics of a set of images from their :func:`depth_metric_sums`.

    Args:
        sums (Sequence[Tensor]): one ``(10,)`` vector per image.
        aggregation (str): ``'per_image'`` (every metric per image, then the mean over images:
            the protocol of every public toolbox) or ``'pixel'`` (all pixels pooled).
            Defaults to 'per_image'.

    Returns:
        dict: :data:`METRIC_KEYS`; NaN for every key when ``sums`` is empty.
    """
    if aggregation == 'per_image':
        if not len(sums):
            return {k: float('nan') for k in METRIC_KEYS}
        per_image = [metrics_from_sums(s) for s in sums]
        return {k: float(np.mean([m[k] for m in per_image])) for k in METRIC_KEYS}
    elif aggregation == 'pixel':
        if not len(sums):
            return {k: float('nan') for k in METRIC_KEYS}
        return metrics_from_sums(torch.stack(list(sums)).sum(0))
    else:
        raise ValueError(f'unknown aggregation {aggregation!r}; valid: {AGGREGATIONS}')


__all__ = ['METRIC_KEYS', 'SUM_KEYS', 'DELTA_THRESHOLD', 'AGGREGATIONS', 'delta_ratio',
           'delta1_per_image', 'depth_metric_sums', 'metrics_from_sums',
           'compute_depth_metrics', 'aggregate_metric_sums']
