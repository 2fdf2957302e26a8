"""Scale-oriented contrastive loss (TR2M eq. 7-8, appendix A.3.3).

Pixels are labelled with quantised depth classes; a query feature is pulled towards the mean
key feature of its own class and pushed from the mean key features of the other classes.
Cosine similarity is linear in the normalised key, so the mean similarity to a class equals the
similarity to the class mean of normalised keys: the loss costs ``O(N * C * D)``, not
``O(N^2 * D)``.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from tr2m.models.layers.precision import float32_math

NEGATIVE_REDUCTIONS = ('sum', 'mean')


def depth_classes(depth: Tensor, valid_mask: Tensor, num_classes: int = 20,
                  d_min: Optional[Tensor] = None, d_max: Optional[Tensor] = None) -> Tensor:
    """Quantise depth into ``num_classes + 1`` classes (eq. 7).

    ``Y = round((d_max - D) / (d_max - d_min) * C)``, so class 0 is the farthest and class ``C``
    the nearest depth. ``d_min``/``d_max`` default to each map's own range over its valid pixels
    (the paper's per-image classes); pass them (shape ``(...)``, broadcast over ``H, W``) for a
    range shared by a pair of images or a batch -- depths outside it are clipped to class 0 or
    ``C``. ``round`` is ``torch.round`` (halves to even). A map whose range is empty or a single
    value (including a single valid pixel) is all class 0; invalid pixels are -1.

    Args:
        depth (Tensor): depth ``(..., H, W)``, any unit.
        valid_mask (Tensor): bool, broadcastable to ``depth``; non-finite depths are invalid too.
        num_classes (int): ``C``; labels are ``0..C``. Defaults to 20 (paper).
        d_min (Tensor, optional): near end of the range, ``(...)``. Defaults to None.
        d_max (Tensor, optional): far end of the range, ``(...)``. Defaults to None.

    Returns:
        Tensor: int64 labels of ``depth``'s shape, -1 where invalid.
    """
    valid = torch.broadcast_to(valid_mask.bool(), depth.shape) & torch.isfinite(depth)
    own_min, own_max = class_range(depth, valid)
    d_min = (own_min if d_min is None else d_min.to(depth))[..., None, None]
    d_max = (own_max if d_max is None else d_max.to(depth))[..., None, None]
    span = d_max - d_min
    has_span = torch.isfinite(span) & (span > 0)
    safe_span = torch.where(has_span, span, torch.ones_like(span))
    safe_depth = torch.where(valid, depth, torch.zeros_like(depth))
    scaled = torch.where(has_span, (d_max - safe_depth) / safe_span * num_classes,
                         torch.zeros_like(safe_depth))
    labels = torch.round(scaled).clamp(0, num_classes).long()
    return torch.where(valid, labels, torch.full_like(labels, -1))


def downsample_depth(depth: Tensor, valid_mask: Tensor,
                     size: Union[int, Sequence[int]]) -> Tuple[Tensor, Tensor]:
    """Average the valid pixels of each output cell (area interpolation of ``D*M`` and ``M``).

    Works for sizes that do not divide the input (adaptive cells). A cell without valid pixels
    is invalid and holds 0.

    Args:
        depth (Tensor): depth ``(..., H, W)``; invalid pixels may hold anything.
        valid_mask (Tensor): bool, broadcastable to ``depth``.
        size (int | tuple[int, int]): output ``(h, w)`` (an int means square).

    Returns:
        tuple[Tensor, Tensor]: ``depth_small`` ``(..., h, w)`` (floating) and bool ``valid_small``.
    """
    valid = torch.broadcast_to(valid_mask.bool(), depth.shape) & torch.isfinite(depth)
    lead, (height, width) = depth.shape[:-2], depth.shape[-2:]
    dtype = torch.promote_types(depth.dtype, torch.float32)
    masked = torch.where(valid, depth.to(dtype), torch.zeros((), dtype=dtype, device=depth.device))
    stacked = torch.stack([masked, valid.to(dtype)], 0).reshape(-1, 1, height, width)
    pooled = F.interpolate(stacked, size=size, mode='area')  # cell means of D*M and of M
    pooled = pooled.reshape(2, *lead, *pooled.shape[-2:])
    total, frac = pooled[0], pooled[1]
    valid_small = frac > 0
    depth_small = torch.where(valid_small, total / torch.where(valid_small, frac, 1.0), 0.0)
    return depth_small, valid_small


def class_range(depth: Tensor, valid_mask: Tensor) -> Tuple[Tensor, Tensor]:
    """``d_min`` and ``d_max`` over the valid, finite pixels of each map ``(..., H, W)``.

    Returns two tensors of shape ``(...)``; a map without valid pixels gets ``(+inf, -inf)``.
    """
    valid = torch.broadcast_to(valid_mask.bool(), depth.shape) & torch.isfinite(depth)
    inf = torch.tensor(float('inf'), dtype=depth.dtype, device=depth.device)
    d_min = torch.where(valid, depth, inf).flatten(-2).amin(-1)
    d_max = torch.where(valid, depth, -inf).flatten(-2).amax(-1)
    return d_min, d_max


def reduce_labels(labels: Tensor, size: Sequence[int], num_labels: int,
                  mode: str = 'mode') -> Tensor:
    """Bring full-resolution class labels ``(B, H, W)`` to the feature grid ``size``.

    ``'mode'``: each output cell takes the most frequent label among its valid pixels (ties go
    to the smaller label, i.e. the farther class); a cell without a valid pixel is -1. Cells
    split the image uniformly: pixel row ``y`` belongs to cell row ``floor(y * h / H)`` (the
    same for columns), so sizes need not divide. ``'nearest'``: the label of the pixel
    ``F.interpolate(mode='nearest')`` picks (-1 stays -1).

    Args:
        labels (Tensor): int labels ``(B, H, W)``, -1 = invalid, else ``0..num_labels-1``.
        size (Sequence[int]): output ``(h, w)``.
        num_labels (int): number of classes (``C + 1``).
        mode (str): ``'mode'`` or ``'nearest'``. Defaults to ``'mode'``.

    Returns:
        Tensor: int64 labels ``(B, h, w)``.
    """
    h, w = int(size[0]), int(size[1])
    if mode == 'nearest':
        small = F.interpolate(labels[:, None].float(), size=(h, w), mode='nearest')
        return small[:, 0].long()
    elif mode != 'mode':
        raise ValueError(f"mode must be 'mode' or 'nearest', got {mode!r}")
    batch, height, width = labels.shape
    dev = labels.device
    rows = torch.arange(height, device=dev) * h // height  # (H,)
    cols = torch.arange(width, device=dev) * w // width  # (W,)
    cell = (rows[:, None] * w + cols[None, :]).reshape(1, -1)  # (1, H*W)
    flat = labels.reshape(batch, -1)
    ok = (flat >= 0) & (flat < num_labels)
    index = torch.where(ok, cell * num_labels + flat, torch.zeros_like(flat))
    # integer counts: exact, and independent of torch's default float dtype (a float64
    # analysis script under torch.set_default_dtype(torch.float64) works as float32 does)
    counts = torch.zeros(batch, h * w * num_labels, dtype=torch.long, device=dev)
    counts.scatter_add_(1, index, ok.long())
    counts = counts.view(batch, h * w, num_labels)
    best = counts.argmax(-1)  # first maximum: the smaller label wins a tie
    best = torch.where(counts.sum(-1) > 0, best, torch.full_like(best, -1))
    return best.view(batch, h, w)


@float32_math
def soc_class_stats(k: Tensor, k_cls: Tensor, num_labels: int) -> Tuple[Tensor, Tensor]:
    """Per-image class sums of L2-normalised key features and class counts.

    These are all that :func:`soc_loss` needs of the keys (cosine similarity is linear in the
    normalised key), so key sets of different images, sizes, ranks or past batches are pooled by
    adding their statistics.

    Args:
        k (Tensor): keys ``(B, D, h, w)`` or ``(B, K, D, h, w)`` (the K sets are pooled).
        k_cls (Tensor): labels ``(B, h, w)`` or ``(B, K, h, w)``, -1 = invalid; labels outside
            ``0..num_labels-1`` are ignored.
        num_labels (int): classes ``M``.

    Returns:
        tuple[Tensor, Tensor]: ``sums`` ``(B, D, M)`` (float32 or wider) and ``counts``
        ``(B, M)`` (same dtype).
    """
    if k.dim() == 4:
        k, k_cls = k[:, None], k_cls[:, None]
    batch, dim = k.shape[0], k.shape[2]
    dtype = torch.promote_types(k.dtype, torch.float32)
    kn = F.normalize(k.to(dtype), dim=2).transpose(1, 2).reshape(batch, dim, -1)  # (B, D, Nk)
    yk = k_cls.reshape(batch, -1)  # (B, Nk)
    onehot = (yk[..., None] == torch.arange(num_labels, device=yk.device)).to(dtype)
    return torch.bmm(kn, onehot), onehot.sum(1)  # (B, D, M), (B, M)


def _class_similarities(q: Tensor, q_cls: Tensor, sums: Tensor,
                        counts: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Cosine of every query to every class's mean normalised key, ``(B, Nq, M)``, the cosine
    to its own class ``(B, Nq)``, the mask of counted queries (valid, with a positive among
    the keys) ``(B, Nq)`` and of each query's negative classes ``(B, Nq, M)``."""
    batch, dim = q.shape[:2]
    num_labels = counts.shape[-1]
    qn = F.normalize(q.to(sums.dtype), dim=1).reshape(batch, dim, -1).transpose(1, 2)
    class_mean = sums / counts.clamp_min(1)[:, None, :]  # (B, D, M) mean normalised key
    sims = torch.bmm(qn, class_mean)  # (B, Nq, M) mean cosine per class
    y = q_cls.reshape(batch, -1)
    y_valid = (y >= 0) & (y < num_labels)
    present = counts > 0  # (B, M)
    y_safe = torch.where(y_valid, y, torch.zeros_like(y))
    has_pos = y_valid & present.gather(1, y_safe)  # (B, Nq)
    s_pos = sims.gather(2, y_safe[..., None]).squeeze(2)
    labels = torch.arange(num_labels, device=y.device)
    neg = present[:, None, :] & (labels != y_safe[..., None])  # (B, Nq, M)
    return sims, s_pos, has_pos, neg


@float32_math
def soc_query_losses(q: Tensor, q_cls: Tensor, sums: Tensor, counts: Tensor,
                     negative_reduction: str = 'sum',
                     temperature: float = 1.0) -> Tuple[Tensor, Tensor]:
    """Eq. 8 for every query pixel against pooled key statistics.

    Args:
        q (Tensor): query features ``(B, D, h, w)``.
        q_cls (Tensor): query labels ``(B, h, w)``, -1 = invalid.
        sums (Tensor): ``(B, D, M)`` class sums of normalised keys (:func:`soc_class_stats`).
        counts (Tensor): ``(B, M)`` class counts.
        negative_reduction (str): ``'sum'`` (paper) or ``'mean'``.
        temperature (float): similarities are divided by it.

    Returns:
        tuple[Tensor, Tensor]: per-query losses ``(B, h*w)`` (0 where not counted) and the bool
        mask of counted queries (valid, with a positive among the keys).
    """
    if negative_reduction not in NEGATIVE_REDUCTIONS:
        raise ValueError(f'negative_reduction must be one of {NEGATIVE_REDUCTIONS}, '
                         f'got {negative_reduction!r}')
    if not temperature > 0:
        raise ValueError(f'temperature must be positive, got {temperature}')
    sims, s_pos, has_pos, neg = _class_similarities(q, q_cls, sums, counts)
    zero = torch.zeros((), dtype=sims.dtype, device=sims.device)
    s_neg = torch.where(neg, sims, zero).sum(2)
    if negative_reduction == 'mean':
        s_neg = s_neg / neg.sum(2).clamp_min(1).to(sims.dtype)
    per_query = F.softplus((s_neg - s_pos) / temperature)  # -log(e^Sp / (e^Sp + e^Sn))
    return torch.where(has_pos, per_query, torch.zeros_like(per_query)), has_pos


@torch.no_grad()
@float32_math
def soc_similarity_stats(q: Tensor, q_cls: Tensor, sums: Tensor,
                         counts: Tensor) -> Tuple[Tensor, Tensor]:
    """Diagnostics of eq. 8's terms: the mean cosine of a query to its own class's key mean
    (``S_p`` at ``T = 1``) and the mean cosine to one other class's key mean (``S_n`` per
    negative class), over the queries that have a positive. Both near 1 with a constant
    projector; ``cos_pos < 0`` means the queries are turned away from the keys altogether
    (README: a momentum branch that lags the live one allows it). Arguments as
    :func:`soc_query_losses`; returns two scalars (0 when nothing counts, so that a logging
    window is not turned into NaN).
    """
    sims, s_pos, has_pos, neg = _class_similarities(q, q_cls, sums, counts)
    neg = neg & has_pos[..., None]
    zero = torch.zeros((), dtype=sims.dtype, device=sims.device)
    return (s_pos[has_pos].mean() if has_pos.any() else zero,
            sims[neg].mean() if neg.any() else zero)


def _num_labels(q_cls: Tensor, k_cls: Tensor, num_classes: Optional[int]) -> int:
    if num_classes is not None:
        return num_classes + 1
    top = max(int(q_cls.max()) if q_cls.numel() else -1, int(k_cls.max()) if k_cls.numel() else -1)
    return max(top + 1, 1)


@float32_math
def soc_loss(q: Tensor, k: Tensor, q_cls: Tensor, k_cls: Tensor,
             negative_reduction: str = 'sum', temperature: float = 1.0,
             num_classes: Optional[int] = None) -> Tensor:
    """Scale-oriented contrastive loss (eq. 8) with class-mean keys.

    Features are L2-normalised over ``D``. For each valid query pixel ``i`` of class ``y`` of
    image ``b``, with the K key sets of image ``b`` pooled:
    ``S_p = mean_{j: k_cls_j = y} cos(q_i, k_j) / T`` and ``S_n = sum`` (``'mean'``: mean) over
    the other classes ``c`` present among the keys of ``mean_{j: k_cls_j = c} cos(q_i, k_j) / T``;
    ``loss_i = -log(exp(S_p) / (exp(S_p) + exp(S_n))) = softplus(S_n - S_p)``. An empty set of
    negative classes gives ``S_n = 0`` for both reductions. The result is the mean of
    ``loss_i`` over valid queries whose class occurs among the keys; without any such query it
    is an exact zero still connected to ``q``'s graph. Cost ``O(N * C * D)``
    (:func:`soc_class_stats` then :func:`soc_query_losses`), not ``O(N^2 * D)``.

    Args:
        q (Tensor): query features ``(B, D, h, w)``.
        k (Tensor): key features ``(B, K, D, h, w)``, K key sets per query image.
        q_cls (Tensor): int query labels ``(B, h, w)``, -1 = invalid.
        k_cls (Tensor): int key labels ``(B, K, h, w)``, -1 = invalid.
        negative_reduction (str): ``'sum'`` (paper) or ``'mean'`` over negative classes.
            Defaults to ``'sum'``.
        temperature (float): similarities are divided by it. Defaults to 1.0 (paper).
        num_classes (int, optional): ``C`` of :func:`depth_classes` (labels ``0..C``); labels
            outside ``0..C`` are then ignored like -1. None infers it from the largest label
            (one device sync). Defaults to None.

    Returns:
        Tensor: scalar loss.
    """
    if negative_reduction not in NEGATIVE_REDUCTIONS:
        raise ValueError(f'negative_reduction must be one of {NEGATIVE_REDUCTIONS}, '
                         f'got {negative_reduction!r}')
    if q.dim() != 4 or k.dim() != 5 or k.shape[0] != q.shape[0] or k.shape[2] != q.shape[1]:
        raise ValueError(f'expected q (B, D, h, w) and k (B, K, D, h, w), got {tuple(q.shape)} '
                         f'and {tuple(k.shape)}')
    if q_cls.shape != q.shape[:1] + q.shape[2:] or k_cls.shape != k.shape[:2] + k.shape[3:]:
        raise ValueError(f'expected q_cls (B, h, w) and k_cls (B, K, h, w) matching q '
                         f'{tuple(q.shape)} and k {tuple(k.shape)}, got {tuple(q_cls.shape)} '
                         f'and {tuple(k_cls.shape)}')
    if not temperature > 0:
        raise ValueError(f'temperature must be positive, got {temperature}')
    num_labels = _num_labels(q_cls, k_cls, num_classes)
    sums, counts = soc_class_stats(k, k_cls, num_labels)
    per_query, has_pos = soc_query_losses(q, q_cls, sums, counts, negative_reduction,
                                          temperature)
    return per_query.sum() / has_pos.sum().clamp_min(1).to(per_query.dtype)


def soc_pos_frac(q_cls: Tensor, k_cls: Tensor, num_classes: Optional[int] = None) -> Tensor:
    """Fraction of valid query pixels whose class occurs among their image's keys.

    A diagnostic for :func:`soc_loss` (queries without a positive do not contribute); 0 when no
    query is valid. Depends on the labels only.

    Args:
        q_cls (Tensor): int query labels ``(B, h, w)``, -1 = invalid.
        k_cls (Tensor): int key labels ``(B, K, h, w)``, -1 = invalid.
        num_classes (int, optional): as in :func:`soc_loss`. Defaults to None.

    Returns:
        Tensor: float32 scalar without gradient.
    """
    num_labels = _num_labels(q_cls, k_cls, num_classes)
    batch = q_cls.shape[0]
    yk = k_cls.reshape(batch, -1)
    present = (yk[..., None] == torch.arange(num_labels, device=yk.device)).any(1)  # (B, M)
    y = q_cls.reshape(batch, -1)
    y_valid = (y >= 0) & (y < num_labels)
    y_safe = torch.where(y_valid, y, torch.zeros_like(y))
    has_pos = y_valid & present.gather(1, y_safe)
    return has_pos.sum().float() / y_valid.sum().clamp_min(1).float()


def class_separability(feats: Tensor, cls: Tensor, num_labels: int) -> Tuple[Tensor, Tensor]:
    """Mean cosine similarity of feature pairs of the same class and of different classes.

    Over all ordered pairs ``(i, j)``, ``i != j``, of valid pixels of one image (then averaged
    over images with at least two valid pixels); computed exactly from class sums of normalised
    features, ``O(N * C * D)``. ``intra - inter`` is a depth-class separability score: higher
    means pixels of one depth class look alike and differ from other classes.

    Args:
        feats (Tensor): features ``(B, D, h, w)``.
        cls (Tensor): labels ``(B, h, w)``, -1 = invalid.
        num_labels (int): classes ``M``.

    Returns:
        tuple[Tensor, Tensor]: ``intra`` and ``inter`` (float64 scalars; NaN when no image has
        a pair of that kind).
    """
    sums, counts = soc_class_stats(feats.double(), cls, num_labels)  # (B, D, M), (B, M)
    total = sums.sum(-1)  # (B, D)
    n = counts.sum(-1)  # (B,)
    same = (sums * sums).sum(1) - counts  # (B, M): sum over i != j in class c of cos
    same_pairs = counts * (counts - 1)
    all_pairs = (total * total).sum(1) - n  # every ordered pair i != j
    cross = all_pairs - same.sum(-1)
    cross_pairs = n * n - n - same_pairs.sum(-1)
    has_same = same_pairs.sum(-1) > 0
    has_cross = cross_pairs > 0
    intra = (same.sum(-1) / same_pairs.sum(-1).clamp_min(1))[has_same].mean()
    inter = (cross / cross_pairs.clamp_min(1))[has_cross].mean()
    return intra, inter
