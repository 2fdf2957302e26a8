"""Depth Pro's scale-invariant boundary metric: occluding-contour counts of a prediction against
its GT, and the weighted F1 / precision / recall they give (per image or pooled)."""
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from .metrics import AGGREGATIONS

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



def aggregate_boundary_counts(counts: Sequence[Tensor], aggregation: str = 'per_image',
                              weights: Union[str, Sequence[float]] = 'ratio',
                              reduction: str = 'directions',
                              thresholds: Sequence[float] = BOUNDARY_THRESHOLDS
                              ) -> Dict[str, float]:
    """Boundary scores (:data:`BOUNDARY_KEYS`) of a set of images from their
    :func:`boundary_counts`: per image then the mean (``'per_image'``) or from the pooled
    counts (``'pixel'``); NaN for every key when ``counts`` is empty."""
    def scores(c: Tensor) -> Dict[str, float]:
        return {k: float(v) for k, v in boundary_scores(c, weights, reduction,
                                                        thresholds).items()}

    if aggregation == 'per_image':
        if not len(counts):
            return {k: float('nan') for k in BOUNDARY_KEYS}
        per_image = [scores(c) for c in counts]
        return {k: float(np.mean([m[k] for m in per_image])) for k in BOUNDARY_KEYS}
    elif aggregation == 'pixel':
        if not len(counts):
            return {k: float('nan') for k in BOUNDARY_KEYS}
        return scores(torch.stack(list(counts)).sum(0))
    else:
        raise ValueError(f'unknown aggregation {aggregation!r}; valid: {AGGREGATIONS}')


__all__ = ['BOUNDARY_THRESHOLDS', 'BOUNDARY_WEIGHTINGS', 'BOUNDARY_REDUCTIONS', 'BOUNDARY_KEYS',
           'boundary_counts', 'boundary_scores', 'boundary_f1', 'aggregate_boundary_counts']
