"""Depth evaluation maths: evaluation masks, the standard metrics, boundary sharpness and
alignment of relative predictions. Importable without configs; :class:`~tr2m.evaluation.DepthMetric`
is a thin wrapper around these functions.

Conventions: tensors are ``(..., H, W)``, masks are boolean and broadcast to the depth tensor,
every function ignores masked-out pixels, and metrics are computed in float64.

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
:func:`metrics_from_sums`). The boundary metric (:func:`boundary_f1`, Depth Pro's) is likewise a
function of per-image counts (:func:`boundary_counts`, :func:`boundary_scores`).

Crops (:func:`crop_box`) come with explicit conventions, because the public toolboxes differ:

- Eigen: ``'fixed'`` rows 45:471, cols 41:601 whatever the GT size (BTS, ZoeDepth, Depth
  Anything v1; the default), or ``'scaled'``: the same fractions of an ``H x W`` frame.
- Garg: ``'gt_frame'`` the box on the GT as evaluated, i.e. on the KB-cropped 352 x 1216 GT of
  a KITTI pipeline (ZoeDepth, Depth Anything v1 metric and RSA's released code; the default), or
  ``'full_frame'``: the box on the full frame the GT was cut from (BTS's offline
  ``bts_eval.py``), which needs the sample's ``gt_window`` (set by ``KBCrop``).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

#: Keys of :func:`compute_depth_metrics`, in reporting order.
METRIC_KEYS = ('abs_rel', 'sq_rel', 'rmse', 'rmse_log', 'log10', 'silog', 'd1', 'd2', 'd3')
#: Sums over valid pixels that every metric is derived from (see :func:`depth_metric_sums`).
SUM_KEYS = ('count', 'abs_rel', 'sq_rel', 'sq_err', 'log_sq_err', 'log10', 'log_err',
            'd1', 'd2', 'd3')
#: Crop names accepted by :func:`eval_mask` (plus None for no crop).
CROPS = ('eigen', 'garg')
#: Eigen crop ``(top, bottom, left, right)`` defined on a 480 x 640 NYUv2 frame.
EIGEN_CROP_480x640 = (45, 471, 41, 601)
#: Garg crop as fractions of ``(H, H, W, W)`` (KITTI).
GARG_CROP_FRACTIONS = (0.40810811, 0.99189189, 0.03594771, 0.96405229)
#: Eigen crop conventions: literal indices at any size, or indices scaled to the GT size.
EIGEN_CONVENTIONS = ('fixed', 'scaled')
#: Garg crop conventions: on the evaluated GT (KB-cropped for KITTI) or on the full frame.
GARG_CONVENTIONS = ('gt_frame', 'full_frame')
#: Spaces of a scale-and-shift fit: ``'inverse'`` fits ``s * x + t ~ 1 / gt``, ``'depth'``
#: fits ``s * x + t ~ gt``.
ALIGN_SPACES = ('inverse', 'depth')
#: Smallest inverse depth an inverse-space alignment may produce (so ``1 / inv`` stays finite).
MIN_INV = 1e-8

#: Window ``(top, left, full_height, full_width)``: where a cropped GT sits in its full frame.
GtWindow = Tuple[int, int, int, int]


# --------------------------------------------------------------------------- masks

def _garg_box(height: int, width: int) -> Tuple[int, int, int, int]:
    ft, fb, fl, fr = GARG_CROP_FRACTIONS
    return int(ft * height), int(fb * height), int(fl * width), int(fr * width)


def _check_window(gt_window, height: int, width: int) -> GtWindow:
    try:
        top, left, full_h, full_w = (int(v) for v in gt_window)
    except (TypeError, ValueError) as err:
        raise ValueError(f'gt_window must be (top, left, full_height, full_width), got '
                         f'{gt_window!r}') from err
    if top < 0 or left < 0 or top + height > full_h or left + width > full_w:
        raise ValueError(f'gt_window {tuple(gt_window)} does not hold a {height} x {width} GT')
    return top, left, full_h, full_w


def crop_box(crop: str, height: int, width: int, eigen: str = 'fixed',
             garg: str = 'gt_frame', gt_window: Optional[Sequence[int]] = None
             ) -> Tuple[int, int, int, int]:
    """Rows and columns ``(top, bottom, left, right)`` (half open) of a named crop on an
    ``height x width`` GT.

    - ``'eigen'`` (Eigen et al. 2014, defined on 480 x 640 NYUv2 frames):

      - ``eigen='fixed'``: rows 45:471, cols 41:601 whatever the GT size, clipped to the frame
        (``eval_mask[45:471, 41:601] = 1`` in BTS, ZoeDepth and Depth Anything v1's metric code,
        also for SUN RGB-D / iBims / HyperSim GT of other sizes);
      - ``eigen='scaled'``: ``top = 45 * H // 480``, ``bottom = 471 * H // 480``,
        ``left = 41 * W // 640``, ``right = 601 * W // 640`` (the same fraction of any frame;
        480 x 640 gives the literal indices).

    - ``'garg'`` (Garg et al. 2016): ``int(0.40810811 H):int(0.99189189 H),
      int(0.03594771 W):int(0.96405229 W)``

      - ``garg='gt_frame'``: on the GT as evaluated. For KITTI pipelines with ``KBCrop`` that is
        the 352 x 1216 benchmark crop: rows 143:349, cols 43:1172 (ZoeDepth, Depth Anything v1,
        and RSA's released code, whose eval loader KB-crops the GT so that its BTS-style
        "uncrop" is a no-op);
      - ``garg='full_frame'``: on the full frame the GT was cut from (BTS's ``bts_eval.py``: full
        375 x 1242 GT, rows 153:371, cols 44:1197), shifted into the GT's coordinates with
        ``gt_window = (top, left, full_h, full_w)`` and clipped. Without ``gt_window`` the GT is
        its own full frame and both conventions agree. On every KITTI frame size the full-frame
        box lies inside the KB crop, so nothing is clipped there.

    Raises:
        ValueError: unknown crop or convention, or a ``gt_window`` that cannot hold the GT.
    """
    if crop == 'eigen':
        top, bottom, left, right = EIGEN_CROP_480x640
        if eigen == 'fixed':
            return (min(top, height), min(bottom, height), min(left, width), min(right, width))
        elif eigen == 'scaled':
            return (top * height // 480, bottom * height // 480,
                    left * width // 640, right * width // 640)
        else:
            raise ValueError(f'unknown eigen crop convention {eigen!r}; valid: '
                             f'{EIGEN_CONVENTIONS}')
    elif crop == 'garg':
        if garg == 'gt_frame':
            return _garg_box(height, width)
        elif garg == 'full_frame':
            if gt_window is None:
                return _garg_box(height, width)
            top, left, full_h, full_w = _check_window(gt_window, height, width)
            t, b, l_, r = _garg_box(full_h, full_w)
            clip = lambda v, n: max(0, min(v, n))  # noqa: E731
            return (clip(t - top, height), clip(b - top, height),
                    clip(l_ - left, width), clip(r - left, width))
        else:
            raise ValueError(f'unknown garg crop convention {garg!r}; valid: '
                             f'{GARG_CONVENTIONS}')
    else:
        raise ValueError(f'unknown crop {crop!r}; valid crops: None, ' +
                         ', '.join(repr(c) for c in CROPS))


def crop_convention(crop: Optional[str], eigen: str = 'fixed', garg: str = 'gt_frame'
                    ) -> Optional[str]:
    """The convention that applies to ``crop`` (``'fixed'``, ``'scaled'``, ``'gt_frame'``,
    ``'full_frame'``), or None without a crop: what a result's protocol records."""
    if crop is None:
        return None
    elif crop == 'eigen':
        return eigen
    elif crop == 'garg':
        return garg
    else:
        raise ValueError(f'unknown crop {crop!r}; valid crops: None, ' +
                         ', '.join(repr(c) for c in CROPS))


def eval_mask(gt: Tensor, min_depth: Optional[float], max_depth: Optional[float],
              crop: Optional[str] = None, eigen: str = 'fixed', garg: str = 'gt_frame',
              gt_window: Optional[Sequence[int]] = None) -> Tensor:
    """Pixels that count in the evaluation: ``min_depth < gt < max_depth``, finite, in the crop.

    Args:
        gt (Tensor): ground-truth depth ``(..., H, W)``; 0 (or anything <= ``min_depth``) is
            invalid.
        min_depth (float, optional): exclusive lower bound in the GT's unit; None means 0.
        max_depth (float, optional): exclusive upper bound; None (or ``inf``) means none.
        crop (str, optional): None, ``'eigen'`` or ``'garg'`` (see :func:`crop_box`).
            Defaults to None.
        eigen (str): Eigen convention, ``'fixed'`` or ``'scaled'``. Defaults to 'fixed'.
        garg (str): Garg convention, ``'gt_frame'`` or ``'full_frame'``.
            Defaults to 'gt_frame'.
        gt_window (Sequence[int], optional): ``(top, left, full_height, full_width)`` of the GT
            in its full frame, for ``garg='full_frame'``. Defaults to None (GT = full frame).

    Returns:
        Tensor: bool mask of ``gt``'s shape.

    Raises:
        ValueError: unknown crop or convention, or ``min_depth >= max_depth``.
    """
    height, width = gt.shape[-2:]
    box = None if crop is None else crop_box(crop, height, width, eigen, garg, gt_window)
    lower = 0.0 if min_depth is None else float(min_depth)
    if max_depth is not None and not lower < max_depth:
        raise ValueError(f'min_depth ({min_depth}) must be below max_depth ({max_depth})')
    mask = torch.isfinite(gt) & (gt > lower)
    if max_depth is not None:
        mask &= gt < max_depth
    if box is not None:
        top, bottom, left, right = box
        region = torch.zeros((height, width), dtype=torch.bool, device=gt.device)
        region[top:bottom, left:right] = True
        mask &= region
    return mask


# --------------------------------------------------------------------------- metrics

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
    ratio = torch.maximum(p / g, g / p)
    return torch.stack([
        torch.tensor(float(p.numel()), dtype=torch.float64, device=p.device),
        (diff.abs() / g).sum(),
        (diff * diff / g).sum(),
        (diff * diff).sum(),
        (log_err * log_err).sum(),
        (p.log10() - g.log10()).abs().sum(),
        log_err.sum(),
        (ratio < 1.25).sum().double(),
        (ratio < 1.25 ** 2).sum().double(),
        (ratio < 1.25 ** 3).sum().double(),
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
        per-image results yourself (or use :class:`DepthMetric`) for the per-image protocol.

    Raises:
        ValueError: no valid pixel, or a NaN / inf / non-positive prediction at a valid pixel.
    """
    return metrics_from_sums(depth_metric_sums(pred, gt, valid_mask))


# --------------------------------------------------------------------------- boundaries

#: Depth Pro's thresholds ``t`` of the boundary metric: ratios ``1 + t`` for ten values of
#: ``t`` evenly spaced from 5% to 25% (``np.linspace(1.05, 1.25, 10)`` in ml-depth-pro's
#: ``eval/boundary_metrics.py``).
BOUNDARY_THRESHOLDS = tuple(0.05 + 0.2 * i / 9 for i in range(10))
#: Weightings of the thresholds: ``'ratio'`` weights each threshold by its ratio ``1 + t``
#: (normalised; Depth Pro's code), ``'uniform'`` averages them.
BOUNDARY_WEIGHTINGS = ('ratio', 'uniform')
#: How the four directed contour maps combine: ``'directions'`` averages the precision and the
#: recall of each direction (Depth Pro's code), ``'pairs'`` pools the counts of all neighbour
#: pairs.
BOUNDARY_REDUCTIONS = ('directions', 'pairs')
#: Keys of :func:`boundary_scores`.
BOUNDARY_KEYS = ('boundary_f1', 'boundary_precision', 'boundary_recall')


def boundary_counts(pred: Tensor, gt: Tensor, valid_mask: Optional[Tensor] = None,
                    thresholds: Sequence[float] = BOUNDARY_THRESHOLDS) -> Tensor:
    """Occluding-contour counts of a prediction against its GT (Depth Pro's boundary metric).

    For two 4-connected neighbours ``i``, ``j`` (horizontal and vertical pairs) and a threshold
    ``t``, the contour ``c_d(i, j) = d_j / d_i > 1 + t`` holds where ``j`` is farther than ``i``
    by more than the ratio. Each unordered pair is tested both ways, giving four directed maps
    (right/left, left/right, down/up, up/down). A pair counts only where both pixels are valid.
    Depth Pro's code compares inverse depths, which tests the same pairs with the directions
    relabelled; ratios make the counts invariant to a positive scale of either map.

    Args:
        pred (Tensor): predicted depth ``(..., H, W)``, positive and finite at valid pixels.
        gt (Tensor): ground-truth depth, same shape.
        valid_mask (Tensor, optional): bool, broadcastable to ``gt``; None means every pixel
            where ``gt`` is positive and finite.
        thresholds (Sequence[float]): the ``t`` values. Defaults to
            :data:`BOUNDARY_THRESHOLDS`.

    Returns:
        Tensor: int64 ``(..., K, 4, 3)`` holding, per threshold and direction,
        ``[predicted and GT contours, predicted contours, GT contours]``. Counts of several
        images add up (pooled aggregation).

    Raises:
        ValueError: shapes that do not match, an empty threshold list, or a NaN / inf /
            non-positive prediction at a valid pixel.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'pred has shape {tuple(pred.shape)} but gt has {tuple(gt.shape)}')
    if pred.dim() < 2:
        raise ValueError(f'expected depth maps (..., H, W), got shape {tuple(pred.shape)}')
    if not len(thresholds):
        raise ValueError('boundary metric needs at least one threshold')
    g = gt.double()
    p = pred.double()
    valid = torch.isfinite(g) & (g > 0)
    if valid_mask is not None:
        valid = valid & torch.broadcast_to(valid_mask.bool(), gt.shape)
    bad = valid & ~(torch.isfinite(p) & (p > 0))
    if bool(bad.any()):
        raise ValueError(f'prediction has {int(bad.sum())} NaN / inf / non-positive values at '
                         'valid pixels (clamp it to a positive floor first)')
    one = torch.ones((), dtype=torch.float64, device=g.device)
    g = torch.where(valid, g, one)
    p = torch.where(valid, p, one)
    # A contour holds at threshold k when the ratio exceeds 1 + t_k, i.e. for the k below the
    # number of thresholds under the ratio: one searchsorted per map instead of K comparisons.
    ratios = g.new_tensor([1.0 + float(t) for t in thresholds])
    order = torch.argsort(ratios)
    sorted_ratios = ratios[order].contiguous()
    lead = pred.shape[:-2]
    k = len(thresholds)

    def above(ratio: Tensor, pair: Tensor) -> Tensor:
        """Per pixel pair: how many thresholds its ratio exceeds (0 for invalid pairs)."""
        n = torch.searchsorted(sorted_ratios, ratio.contiguous(), right=False)
        return torch.where(pair, n, torch.zeros_like(n)).reshape(-1, ratio.shape[-2]
                                                                 * ratio.shape[-1])

    def exceeding(n: Tensor) -> Tensor:
        """``(L, K)`` counts of pairs exceeding each sorted threshold."""
        hist = torch.zeros(n.shape[0], k + 1, dtype=torch.int64, device=n.device)
        hist.scatter_add_(1, n, torch.ones_like(n))
        return hist.flip(-1).cumsum(-1).flip(-1)[:, 1:]

    counts = []
    for first, second in ((np.s_[..., :, :-1], np.s_[..., :, 1:]),    # horizontal pairs
                          (np.s_[..., :-1, :], np.s_[..., 1:, :])):   # vertical pairs
        pair = valid[first] & valid[second]
        for a, b in ((first, second), (second, first)):  # both directions of each pair
            n_pred = above(p[b] / p[a], pair)
            n_gt = above(g[b] / g[a], pair)
            both = exceeding(torch.minimum(n_pred, n_gt))
            c = torch.stack([both, exceeding(n_pred), exceeding(n_gt)], dim=-1)  # (L, K, 3)
            inverse = torch.empty_like(order)
            inverse[order] = torch.arange(k, device=order.device)
            counts.append(c[:, inverse].reshape(*lead, k, 3))  # back to the given order
    return torch.stack(counts, dim=-2)  # (..., K, 4, 3)


def _boundary_weights(weights: Union[str, Sequence[float]], thresholds: Sequence[float],
                      like: Tensor) -> Tensor:
    if isinstance(weights, str):
        if weights == 'ratio':
            w = like.new_tensor([1.0 + float(t) for t in thresholds])
        elif weights == 'uniform':
            w = like.new_ones(len(thresholds))
        else:
            raise ValueError(f'unknown boundary weighting {weights!r}; valid: '
                             f'{BOUNDARY_WEIGHTINGS} or a list of numbers')
    else:
        w = like.new_tensor([float(v) for v in weights])
        if w.numel() != len(thresholds) or bool((w < 0).any()) or not float(w.sum()) > 0:
            raise ValueError(f'boundary weights must be {len(thresholds)} non-negative numbers '
                             f'with a positive sum, got {list(weights)}')
    return w / w.sum()


def boundary_scores(counts: Tensor, weights: Union[str, Sequence[float]] = 'ratio',
                    reduction: str = 'directions',
                    thresholds: Sequence[float] = BOUNDARY_THRESHOLDS) -> Dict[str, Tensor]:
    """Weighted boundary F1, precision and recall from :func:`boundary_counts`.

    Per threshold: precision ``P = |pred & GT contours| / |pred contours|`` and recall
    ``R = |pred & GT contours| / |GT contours|`` (an empty denominator counts as 1, so an empty
    set scores 0, as in Depth Pro's code), ``F1 = 2 P R / (P + R)`` (0 when ``P + R = 0``).
    ``reduction='directions'`` computes ``P`` and ``R`` per directed map and averages the four
    (Depth Pro's released code: a direction without GT contours contributes a recall of 0, so
    a perfect prediction of a single straight step edge scores 0.25); ``'pairs'`` pools the four
    maps' counts first (a perfect prediction scores 1). The scores are then averaged over the
    thresholds with ``weights``. Precision and recall are weighted the same way; note that the
    weighted F1 is not the F1 of the weighted precision and recall.

    Args:
        counts (Tensor): ``(..., K, 4, 3)`` from :func:`boundary_counts`.
        weights (str | Sequence[float]): ``'ratio'`` (``1 + t``, Depth Pro), ``'uniform'`` or
            K numbers. Defaults to 'ratio'.
        reduction (str): ``'directions'`` or ``'pairs'``. Defaults to 'directions'.
        thresholds (Sequence[float]): the ``t`` values the counts were made with. Defaults to
            :data:`BOUNDARY_THRESHOLDS`.

    Returns:
        dict: ``boundary_f1``, ``boundary_precision``, ``boundary_recall``, float64 tensors of
        shape ``counts.shape[:-3]``, in [0, 1].
    """
    if counts.shape[-2:] != (4, 3) or counts.shape[-3] != len(thresholds):
        raise ValueError(f'counts must have shape (..., {len(thresholds)}, 4, 3), got '
                         f'{tuple(counts.shape)}')
    c = counts.double()
    both, n_pred, n_gt = c.unbind(-1)  # (..., K, 4)
    if reduction == 'directions':
        precision = (both / n_pred.clamp_min(1)).mean(-1)
        recall = (both / n_gt.clamp_min(1)).mean(-1)
    elif reduction == 'pairs':
        precision = both.sum(-1) / n_pred.sum(-1).clamp_min(1)
        recall = both.sum(-1) / n_gt.sum(-1).clamp_min(1)
    else:
        raise ValueError(f'unknown boundary reduction {reduction!r}; valid: '
                         f'{BOUNDARY_REDUCTIONS}')
    total = precision + recall
    f1 = torch.where(total > 0, 2 * precision * recall / total.clamp_min(1e-300),
                     torch.zeros_like(total))
    w = _boundary_weights(weights, thresholds, c)
    return dict(boundary_f1=(f1 * w).sum(-1), boundary_precision=(precision * w).sum(-1),
                boundary_recall=(recall * w).sum(-1))


def boundary_f1(pred: Tensor, gt: Tensor, valid_mask: Optional[Tensor] = None,
                thresholds: Sequence[float] = BOUNDARY_THRESHOLDS,
                weights: Union[str, Sequence[float]] = 'ratio',
                reduction: str = 'directions') -> Tensor:
    """Depth Pro's scale-invariant boundary F1 of each image (higher is sharper and better
    placed boundaries).

    ``boundary_scores(boundary_counts(pred, gt, valid_mask, thresholds), weights, reduction)``;
    see those two functions for the definition. With the defaults this equals Depth Pro's
    ``SI_boundary_F1`` on images whose GT is valid everywhere. It needs dense GT: with sparse
    LiDAR GT few neighbour pairs are valid and the score says little.

    Args:
        pred (Tensor): predicted depth ``(..., H, W)``, positive at valid pixels (any positive
            scale: the score is scale invariant).
        gt (Tensor): ground-truth depth, same shape.
        valid_mask (Tensor, optional): bool, broadcastable to ``gt``. Defaults to None (every
            pixel with a positive finite GT).
        thresholds (Sequence[float]): the ``t`` values. Defaults to
            :data:`BOUNDARY_THRESHOLDS` (5% to 25%, ten values).
        weights (str | Sequence[float]): threshold weighting. Defaults to 'ratio'.
        reduction (str): ``'directions'`` (Depth Pro's code) or ``'pairs'``.
            Defaults to 'directions'.

    Returns:
        Tensor: float64 of shape ``pred.shape[:-2]`` (0-dim for one ``(H, W)`` image).
    """
    counts = boundary_counts(pred, gt, valid_mask, thresholds)
    return boundary_scores(counts, weights, reduction, thresholds)['boundary_f1']


# --------------------------------------------------------------------------- alignment

def _per_image(x: Tensor) -> Tensor:
    """``(H, W)`` -> ``(1, H*W)``; ``(B, ..., H, W)`` -> ``(B, N)``."""
    if x.dim() < 2:
        raise ValueError(f'expected a depth map (..., H, W), got shape {tuple(x.shape)}')
    return x.reshape(1, -1) if x.dim() == 2 else x.reshape(x.shape[0], -1)


def _per_image_value(v: Tensor, like: Tensor) -> Tensor:
    """Broadcast a per-image value ``(B,)`` against ``like`` of shape ``(B, ..., H, W)``."""
    if like.dim() == 2:
        return v.reshape(())
    return v.reshape((-1,) + (1,) * (like.dim() - 1))


def _float(x: Tensor) -> Tensor:
    return x if x.is_floating_point() and x.dtype != torch.float16 else x.float()


def scale_shift_sums(x: Tensor, y: Tensor, valid_mask: Tensor) -> Tensor:
    """Sums of the normal equations of ``s * x + t ~ y`` over the valid pixels of each image.

    Args:
        x, y (Tensor): ``(H, W)`` (one image) or ``(B, ..., H, W)`` (one fit per leading index).
        valid_mask (Tensor): bool, broadcastable to ``x``.

    Returns:
        Tensor: float64 ``(B, 5)`` holding ``[n, sum x, sum x^2, sum y, sum x*y]``. Sums of
        several images add up to the sums of a single fit over all of them (the dataset-global
        fit), which :func:`solve_scale_shift` solves.
    """
    mask = _per_image(torch.broadcast_to(valid_mask.bool(), x.shape))
    xf = torch.where(mask, _per_image(x).double(), 0.0)
    yf = torch.where(mask, _per_image(torch.broadcast_to(y, x.shape)).double(), 0.0)
    return torch.stack([mask.sum(1).double(), xf.sum(1), (xf * xf).sum(1), yf.sum(1),
                        (xf * yf).sum(1)], dim=1)


def solve_scale_shift(sums: Tensor) -> Tuple[Tensor, Tensor]:
    """Least-squares ``(scale, shift)`` from :func:`scale_shift_sums` (``(..., 5)``).

    Degenerate cases: no pixel gives ``(1, 0)`` (identity); a constant ``x`` (relative variance
    below 1e-12) or a single pixel gives ``(0, mean(y))``, the minimum-norm optimum in ``s``.

    Returns:
        tuple[Tensor, Tensor]: float64 scale and shift of shape ``sums.shape[:-1]``.
    """
    sums = sums.double()
    n, sx, sxx, sy, sxy = sums.unbind(-1)
    det = n * sxx - sx * sx
    ok = (n >= 2) & (det > 1e-12 * n * sxx)
    safe_det = torch.where(ok, det, torch.ones_like(det))
    safe_n = n.clamp_min(1)
    scale = torch.where(ok, (n * sxy - sx * sy) / safe_det, torch.zeros_like(det))
    shift = (sy - scale * sx) / safe_n
    empty = n < 1
    scale = torch.where(empty, torch.ones_like(scale), scale)
    shift = torch.where(empty, torch.zeros_like(shift), shift)
    return scale, shift


def _safe_inverse(depth: Tensor, valid: Tensor) -> Tensor:
    """``1 / depth`` on valid pixels, 0 elsewhere (no inf from invalid GT)."""
    return torch.where(valid, 1.0 / torch.where(valid, depth, torch.ones_like(depth)),
                       torch.zeros_like(depth))


def apply_scale_shift(x: Tensor, scale, shift, space: str = 'depth',
                      min_inv: float = MIN_INV) -> Tensor:
    """``s * x + t`` (``space='depth'``) or ``1 / max(s * x + t, min_inv)`` (``'inverse'``).

    ``scale`` / ``shift`` are numbers or per-image tensors ``(B,)`` for ``x`` of shape
    ``(B, ..., H, W)``. In inverse space a fitted inverse depth below ``min_inv`` (tiny or
    negative: the affine fit extrapolates badly far away) becomes ``min_inv``, i.e. a depth of
    ``1 / min_inv`` = 1e8 by default, which the evaluation then clamps to its ``max_depth``; this
    is the same as MiDaS' cap of the inverse depth at ``1 / max_depth``.
    """
    x = _float(x)
    if isinstance(scale, Tensor) and scale.dim() > 0:
        scale = _per_image_value(scale, x)
        shift = _per_image_value(shift, x)
    if isinstance(scale, Tensor):
        scale, shift = scale.to(x), shift.to(x)
    out = scale * x + shift
    if space == 'depth':
        return out
    elif space == 'inverse':
        return 1.0 / out.clamp_min(min_inv)
    else:
        raise ValueError(f'unknown space {space!r}; valid: {ALIGN_SPACES}')


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
    pred = _float(pred)
    m = _per_image(torch.broadcast_to(mask.bool(), pred.shape))
    p, g = _per_image(pred), _per_image(torch.broadcast_to(gt, pred.shape))
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


def align_lsq(pred: Tensor, gt: Tensor, mask: Tensor) -> Tensor:
    """Least-squares scale and shift in depth space, per image: ``s * pred + t ~ gt``.

    Args: as :func:`align_median`. Returns the aligned depth (which may be negative where the
    fit extrapolates; the evaluation clamps it to its range).
    """
    pred = _float(pred)
    scale, shift = solve_scale_shift(scale_shift_sums(pred, gt, mask))
    return apply_scale_shift(pred, scale, shift, space='depth')


def align_lsq_inverse(rel_inv: Tensor, gt: Tensor, mask: Tensor,
                      min_inv: float = MIN_INV) -> Tensor:
    """Least-squares fit in inverse-depth space, per image (MiDaS protocol).

    Fits ``s * rel_inv + t ~ 1 / gt`` on the masked pixels and returns
    ``1 / max(s * rel_inv + t, min_inv)`` (see :func:`apply_scale_shift` for the clamp).

    Args:
        rel_inv (Tensor): relative inverse depth (disparity-like), ``(H, W)`` or
            ``(B, ..., H, W)``.
        gt (Tensor): ground-truth depth, same shape.
        mask (Tensor): bool pixels to use (must exclude ``gt <= 0``), broadcastable.
        min_inv (float): smallest allowed inverse depth. Defaults to :data:`MIN_INV`.

    Returns:
        Tensor: metric depth, ``rel_inv``'s shape.
    """
    rel_inv = _float(rel_inv)
    m = torch.broadcast_to(mask.bool(), rel_inv.shape)
    target = _safe_inverse(torch.broadcast_to(gt, rel_inv.shape).double(), m)
    scale, shift = solve_scale_shift(scale_shift_sums(rel_inv, target, m))
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
        y = _safe_inverse(g, m) if space == 'inverse' else g
        total += scale_shift_sums(x, y, m).sum(0).cpu()
    scale, shift = solve_scale_shift(total)
    return float(scale), float(shift)


def align_global(xs: Sequence[Tensor], gts: Sequence[Tensor], masks: Sequence[Tensor],
                 space: str = 'inverse', min_inv: float = MIN_INV) -> List[Tensor]:
    """Dataset-global alignment: one scale and shift for all images (RSA's "global fit").

    Args:
        xs (Sequence[Tensor]): relative inverse depths (``space='inverse'``) or relative depths
            (``'depth'``), one ``(..., H, W)`` tensor per image.
        gts (Sequence[Tensor]): ground-truth depths, matching shapes.
        masks (Sequence[Tensor]): bool pixels to fit on.
        space (str): ``'inverse'`` or ``'depth'``. Defaults to ``'inverse'``.
        min_inv (float): inverse-depth floor in inverse space. Defaults to :data:`MIN_INV`.

    Returns:
        list[Tensor]: the aligned metric depth of every image.
    """
    scale, shift = fit_global_scale_shift(xs, gts, masks, space)
    return [apply_scale_shift(x, scale, shift, space, min_inv) for x in xs]
