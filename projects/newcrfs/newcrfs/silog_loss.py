"""``NeWCRFsSiLogLoss``: the scale-invariant log loss exactly as NeWCRFs (and BTS) train with."""
import torch
from torch import Tensor, nn

from tr2m.registry import MODELS

REDUCTIONS = ('batch', 'image')


def newcrfs_silog_loss(pred: Tensor, target: Tensor, valid_mask: Tensor,
                       variance_focus: float = 0.85, reduction: str = 'batch') -> Tensor:
    """``10 * sqrt(mean(d^2) - variance_focus * mean(d)^2)``, ``d = log pred - log target``.

    The released ``silog_loss`` (``newcrfs/utils.py``) indexes ``pred[mask]`` over the whole
    batch, so the means pool the valid pixels of all images (``reduction='batch'``);
    ``'image'`` takes the root per image and averages over images with a valid pixel.

    Args:
        pred (Tensor): predicted depth ``(B, 1, H, W)``, metres, positive.
        target (Tensor): GT depth, same shape.
        valid_mask (Tensor): bool, broadcastable to ``pred``.
        variance_focus (float): lambda of the paper, 0.85 as released.
        reduction (str): ``'batch'`` (released) or ``'image'``. Defaults to 'batch'.

    Returns:
        Tensor: scalar; 0 (with a gradient path) when no pixel is valid.
    """
    valid = torch.broadcast_to(valid_mask, pred.shape)
    if not valid.any():
        return pred.sum() * 0
    if reduction == 'batch':
        d = pred[valid].log() - target[valid].log()
        inner = (d * d).mean() - variance_focus * d.mean() ** 2
        return 10.0 * inner.clamp_min(1e-12).sqrt()
    if reduction == 'image':
        losses = [newcrfs_silog_loss(p, t, m, variance_focus, 'batch')
                  for p, t, m in zip(pred, target, valid) if m.any()]
        return torch.stack(losses).mean()
    raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')


@MODELS.register_module()
class NeWCRFsSiLogLoss(nn.Module):
    """Registered :func:`newcrfs_silog_loss` with the released training mask.

    The released training loop supervises GT pixels deeper than 0.1 m on NYUv2 and 1.0 m on
    KITTI (``mask = depth_gt > 0.1`` / ``> 1.0`` in ``train.py``): ``min_depth``.

    Args:
        variance_focus (float): Defaults to 0.85 (released).
        min_depth (float): GT pixels at or below this (metres) are not supervised.
            Defaults to 0.1 (NYUv2; KITTI configs set 1.0).
        reduction (str): ``'batch'`` (released) or ``'image'``. Defaults to 'batch'.
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self, variance_focus: float = 0.85, min_depth: float = 0.1,
                 reduction: str = 'batch', loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
        self.variance_focus, self.min_depth = variance_focus, min_depth
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, pred: Tensor, target: Tensor, valid_mask: Tensor) -> Tensor:
        mask = valid_mask & (target > self.min_depth)
        return self.loss_weight * newcrfs_silog_loss(pred, target, mask, self.variance_focus,
                                                     self.reduction)
