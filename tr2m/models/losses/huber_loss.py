"""Huber depth loss as RSA released it (``loss.py``: ``L1Loss(loss_type='Huber')``)."""
import torch
from torch import Tensor, nn

from tr2m.registry import MODELS

REDUCTIONS = ('released', 'mean')


def huber_depth_loss(pred: Tensor, target: Tensor, valid_mask: Tensor, delta: float = 1.0,
                     reduction: str = 'released') -> Tensor:
    """Huber loss on metric depth over the valid GT pixels.

    Per pixel, with ``e = pred - target`` (depth, not inverse depth), ``torch.nn.HuberLoss``'s
    form: ``0.5 e^2`` where ``|e| < delta``, else ``delta * (|e| - 0.5 delta)``.

    Reductions:

    - ``'released'``: RSA's. Per image the mean over valid pixels times the valid fraction,
      summed over the batch -- i.e. ``sum_b sum_valid(h) / (H * W)``: a sum over images (not
      a mean), and an image weighs by how many valid pixels it has.
    - ``'mean'``: mean over each image's valid pixels, then over the images that have any.

    Args:
        pred (Tensor): predicted depth ``(B, ..., H, W)``, in the GT's units (RSA: metres).
        target (Tensor): GT depth, same shape.
        valid_mask (Tensor): bool, broadcastable to ``pred``; other pixels are ignored (they
            may hold NaN or inf). RSA's mask is ``min_depth < gt < max_depth``.
        delta (float): threshold between the quadratic and the linear part, in depth units.
            Defaults to 1.0 (RSA: 1 m).
        reduction (str): 'released' or 'mean'. Defaults to 'released'.

    Returns:
        Tensor: scalar (0 with a gradient path when no pixel is valid).
    """
    valid = torch.broadcast_to(valid_mask.bool(), pred.shape).flatten(1)  # (B, N)
    pred_f, target_f = pred.flatten(1), target.flatten(1)
    # invalid pixels get e = 0 (the subtraction's gradient is finite whatever they hold)
    err = torch.where(valid, pred_f - target_f, torch.zeros_like(pred_f)).abs()
    per_pixel = torch.where(err < delta, 0.5 * err * err, delta * (err - 0.5 * delta))
    per_pixel = torch.where(valid, per_pixel, torch.zeros_like(per_pixel))
    if reduction == 'released':
        return (per_pixel.sum(1) / per_pixel.shape[1]).sum()
    elif reduction == 'mean':
        count = valid.sum(1)
        has = count > 0
        if not has.any():
            return per_pixel.sum() * 0
        return (per_pixel.sum(1)[has] / count[has].to(per_pixel.dtype)).mean()
    else:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')


@MODELS.register_module()
class HuberDepthLoss(nn.Module):
    """Registered wrapper of :func:`huber_depth_loss`: ``(pred, target, valid_mask) -> scalar``.

    RSA's released training (``--loss_type Huber`` in every run file) uses ``delta=1.0`` on
    metric depth with the ``'released'`` reduction.

    Args:
        delta (float): Huber threshold, in depth units. Defaults to 1.0.
        reduction (str): 'released' (sum over images of valid-pixel sums / pixels per image)
            or 'mean'. Defaults to 'released'.
        loss_weight (float): multiplier. Defaults to 1.0.
    """

    def __init__(self, delta: float = 1.0, reduction: str = 'released',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not delta > 0:
            raise ValueError(f'delta must be positive, got {delta}')
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
        self.delta = delta
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, valid_mask: Tensor) -> Tensor:
        return self.loss_weight * huber_depth_loss(pred, target, valid_mask, self.delta,
                                                   self.reduction)
