"""L1 / smooth-L1 depth loss over valid GT pixels.

RSA's released training loss is :class:`HuberDepthLoss` (``huber_loss.py``: torch's Huber form
and RSA's batch reduction); this loss's ``huber_delta`` is the smooth-L1 form (the Huber loss
divided by ``delta``; equal to it at ``delta = 1``) with a per-image mean.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from tr2m.registry import MODELS


def l1_depth_loss(pred: Tensor, target: Tensor, valid_mask: Tensor, relative: bool = False,
                  huber_delta: Optional[float] = None) -> Tensor:
    """Per-image mean of ``|pred - target|`` (or its Huber version) over valid pixels.

    Args:
        pred (Tensor): predicted depth ``(B, ..., H, W)``.
        target (Tensor): GT depth, same shape.
        valid_mask (Tensor): bool, broadcastable to ``pred``; other pixels are ignored (they
            may hold NaN or inf).
        relative (bool): divide each error by the target (``|p - g| / g``, RSA's
            ``--normalize``), so near and far pixels weigh alike. Defaults to False.
        huber_delta (float, optional): smooth-L1 loss with this threshold (quadratic below
            it, ``0.5 e^2 / delta``; linear above, ``|e| - 0.5 delta``) instead of L1.
            Defaults to None (L1).

    Returns:
        Tensor: scalar, the mean over images with at least one valid pixel (0 with a gradient
        path when none has).
    """
    valid = torch.broadcast_to(valid_mask.bool(), pred.shape).flatten(1)
    pred_f, target_f = pred.flatten(1), target.flatten(1)
    safe_target = torch.where(valid, target_f, torch.ones_like(target_f))
    err = torch.where(valid, pred_f - safe_target, torch.zeros_like(pred_f)).abs()
    if huber_delta is not None:
        err = torch.where(err < huber_delta, 0.5 * err * err / huber_delta,
                          err - 0.5 * huber_delta)
    if relative:
        err = err / safe_target.abs().clamp_min(1e-6)
    count = valid.sum(1)
    has = count > 0
    per_image = err.sum(1) / count.clamp_min(1).to(err.dtype)
    if not has.any():
        return err.sum() * 0
    return per_image[has].mean()


@MODELS.register_module()
class L1DepthLoss(nn.Module):
    """Registered wrapper of :func:`l1_depth_loss`: ``(pred, target, valid_mask) -> scalar``.

    Args:
        relative (bool): relative (GT-normalised) error. Defaults to False.
        huber_delta (float, optional): smooth-L1 threshold, in depth units; None is plain L1.
            Defaults to None.
        loss_weight (float): multiplier. Defaults to 1.0.
    """

    def __init__(self, relative: bool = False, huber_delta: Optional[float] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if huber_delta is not None and huber_delta <= 0:
            raise ValueError(f'huber_delta must be positive, got {huber_delta}')
        self.relative = relative
        self.huber_delta = huber_delta
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, valid_mask: Tensor) -> Tensor:
        return self.loss_weight * l1_depth_loss(pred, target, valid_mask, self.relative,
                                                self.huber_delta)
