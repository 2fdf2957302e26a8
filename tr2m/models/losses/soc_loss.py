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
from torch import Tensor, nn

from tr2m.registry import MODELS

NEGATIVE_REDUCTIONS = ('sum', 'mean')


def depth_classes(depth: Tensor, valid_mask: Tensor, num_classes: int = 20) -> Tensor:
    """Quantise depth into ``num_classes + 1`` classes per image (eq. 7).

    ``Y = round((d_max - D) / (d_max - d_min) * C)`` with ``d_min``/``d_max`` taken per image over
    the valid pixels, so class 0 is the farthest and class ``C`` the nearest depth. ``round``
    is ``torch.round`` (halves to even). An image whose valid pixels all share one depth
    (including a single valid pixel) is all class 0; an image without valid pixels is all -1.

    Args:
        depth (Tensor): depth ``(..., H, W)``, any unit.
        valid_mask (Tensor): bool, broadcastable to ``depth``; non-finite depths are invalid too.
        num_classes (int): ``C``; labels are ``0..C``. Defaults to 20 (paper).

    Returns:
        Tensor: int64 labels of ``depth``'s shape, -1 where invalid.
    """
    valid = torch.broadcast_to(valid_mask.bool(), depth.shape) & torch.isfinite(depth)
    inf = torch.tensor(float('inf'), dtype=depth.dtype, device=depth.device)
    d_min = torch.where(valid, depth, inf).flatten(-2).amin(-1)[..., None, None]
    d_max = torch.where(valid, depth, -inf).flatten(-2).amax(-1)[..., None, None]
    span = d_max - d_min
    has_span = torch.isfinite(span) & (span > 0)
    safe_span = torch.where(has_span, span, torch.ones_like(span))
    safe_depth = torch.where(valid, depth, d_max)
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


def _label_stats(q_cls: Tensor, k_cls: Tensor,
                 num_labels: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Flattened labels, key one-hots and per-image class counts."""
    batch = q_cls.shape[0]
    y = q_cls.reshape(batch, -1)  # (B, Nq)
    y_valid = (y >= 0) & (y < num_labels)
    yk = k_cls.reshape(batch, -1)  # (B, Nk): the K key sets of one image pooled
    labels = torch.arange(num_labels, device=yk.device)
    onehot = yk[..., None] == labels  # (B, Nk, M); invalid / out-of-range keys: all False
    counts = onehot.sum(1)  # (B, M)
    return y, y_valid, onehot, counts


def _num_labels(q_cls: Tensor, k_cls: Tensor, num_classes: Optional[int]) -> int:
    if num_classes is not None:
        return num_classes + 1
    top = max(int(q_cls.max()) if q_cls.numel() else -1, int(k_cls.max()) if k_cls.numel() else -1)
    return max(top + 1, 1)


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
    is an exact zero still connected to ``q``'s graph.

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
    batch, dim = q.shape[:2]
    dtype = torch.promote_types(q.dtype, torch.float32)
    num_labels = _num_labels(q_cls, k_cls, num_classes)
    y, y_valid, onehot, counts = _label_stats(q_cls, k_cls, num_labels)

    qn = F.normalize(q.to(dtype), dim=1).reshape(batch, dim, -1).transpose(1, 2)  # (B, Nq, D)
    kn = F.normalize(k.to(dtype), dim=2).transpose(1, 2).reshape(batch, dim, -1)  # (B, D, Nk)
    # class means of normalised keys: (B, D, Nk) @ (B, Nk, M) -> (B, D, M)
    class_sum = torch.bmm(kn, onehot.to(dtype))
    class_mean = class_sum / counts.clamp_min(1).to(dtype)[:, None, :]
    sims = torch.bmm(qn, class_mean) / temperature  # (B, Nq, M) mean cosine per class

    present = counts > 0  # (B, M)
    y_safe = torch.where(y_valid, y, torch.zeros_like(y))
    has_pos = y_valid & present.gather(1, y_safe)  # (B, Nq)
    s_pos = sims.gather(2, y_safe[..., None]).squeeze(2)
    labels = torch.arange(num_labels, device=y.device)
    neg = present[:, None, :] & (labels != y_safe[..., None])  # (B, Nq, M)
    s_neg = torch.where(neg, sims, torch.zeros((), dtype=dtype, device=sims.device)).sum(2)
    if negative_reduction == 'mean':
        s_neg = s_neg / neg.sum(2).clamp_min(1).to(dtype)
    per_query = F.softplus(s_neg - s_pos)
    per_query = torch.where(has_pos, per_query, torch.zeros_like(per_query))
    return per_query.sum() / has_pos.sum().clamp_min(1).to(dtype)


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
    y, y_valid, _, counts = _label_stats(q_cls, k_cls, num_labels)
    y_safe = torch.where(y_valid, y, torch.zeros_like(y))
    has_pos = y_valid & (counts > 0).gather(1, y_safe)
    return has_pos.sum().float() / y_valid.sum().clamp_min(1).float()


@MODELS.register_module()
class ScaleOrientedContrastiveLoss(nn.Module):
    """Scale-oriented contrastive loss ``L_soc`` (TR2M eq. 7-8, A.3.3), see :func:`soc_loss`.

    Labels come from :func:`depth_classes` with the same ``num_classes`` on GT depth brought to
    the feature resolution with :func:`downsample_depth`. Keys are the momentum branch's features
    (detach them or compute them under ``torch.no_grad()``; this module does not detach).

    ``forward`` returns ``(loss, pos_frac)``: ``pos_frac`` is :func:`soc_pos_frac`, the detached
    fraction of valid queries that had a positive, to log under a key without the substring
    ``"loss"`` (e.g. ``soc_pos_frac``).

    Args:
        num_classes (int): ``C`` (labels ``0..C``; others are ignored). Defaults to 20 (paper).
        negative_reduction (str): ``'sum'`` (paper) or ``'mean'``. Defaults to ``'sum'``.
        temperature (float): similarity temperature. Defaults to 1.0 (paper).
        loss_weight (float): multiplier. Defaults to 0.1 (paper).
    """

    def __init__(self, num_classes: int = 20, negative_reduction: str = 'sum',
                 temperature: float = 1.0, loss_weight: float = 0.1) -> None:
        super().__init__()
        if negative_reduction not in NEGATIVE_REDUCTIONS:
            raise ValueError(f'negative_reduction must be one of {NEGATIVE_REDUCTIONS}, '
                             f'got {negative_reduction!r}')
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got {temperature}')
        self.num_classes = num_classes
        self.negative_reduction = negative_reduction
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, q: Tensor, k: Tensor, q_cls: Tensor,
                k_cls: Tensor) -> Tuple[Tensor, Tensor]:
        """Compute the loss.

        Args:
            q (Tensor): query features ``(B, D, h, w)``.
            k (Tensor): key features ``(B, K, D, h, w)``.
            q_cls (Tensor): query labels ``(B, h, w)``, -1 = invalid.
            k_cls (Tensor): key labels ``(B, K, h, w)``, -1 = invalid.

        Returns:
            tuple[Tensor, Tensor]: weighted scalar loss and ``pos_frac`` (scalar, detached).
        """
        loss = soc_loss(q, k, q_cls, k_cls, self.negative_reduction, self.temperature,
                        self.num_classes)
        with torch.no_grad():
            pos_frac = soc_pos_frac(q_cls, k_cls, self.num_classes)
        return self.loss_weight * loss, pos_frac
