"""Scale-invariant log loss (Eigen et al. 2014; TR2M eq. 4)."""
import torch
from torch import Tensor, nn

from tr2m.registry import MODELS
from tr2m.utils.dist import global_mean

#: Depths are clamped to this before the log so a zero never produces -inf.
LOG_EPS = 1e-6


def silog_loss(pred: Tensor, target: Tensor, valid_mask: Tensor, lambd: float = 0.15,
               sqrt: bool = False) -> Tensor:
    """``mean(e^2) - lambd * mean(e)^2`` with ``e = log pred - log target``, per image.

    Args:
        pred (Tensor): predicted depth ``(B, ..., H, W)``, positive.
        target (Tensor): target depth, same shape.
        valid_mask (Tensor): bool, broadcastable to ``pred``; pixels outside it are ignored.
        lambd (float): variance weight; 1 makes the loss invariant to a global scale of
            ``pred``. Defaults to 0.15 (paper).
        sqrt (bool): return the square root of each image's value (BTS/AdaBins variant).
            Defaults to False (paper).

    Returns:
        Tensor: scalar, the mean over images that have at least one valid pixel (0 with a
        gradient path when none has). In a DDP backward (a process group of several ranks and
        ``pred`` requiring grad) the mean is over the images of all ranks
        (:func:`tr2m.utils.dist.global_mean`), so every rank must call it.
    """
    valid = torch.broadcast_to(valid_mask, pred.shape).flatten(1)
    pred_f, target_f = pred.flatten(1), target.flatten(1)
    # where() before log keeps NaN/inf of invalid pixels out of the forward and the gradient
    safe_pred = torch.where(valid, pred_f, torch.ones_like(pred_f)).clamp_min(LOG_EPS)
    safe_target = torch.where(valid, target_f, torch.ones_like(target_f)).clamp_min(LOG_EPS)
    err = torch.where(valid, safe_pred.log() - safe_target.log(), torch.zeros_like(pred_f))
    count = valid.sum(1)
    has = count > 0
    n = count.clamp_min(1).to(err.dtype)
    mean_sq = (err * err).sum(1) / n
    mean = err.sum(1) / n
    per_image = (mean_sq - lambd * mean * mean).clamp_min(0)
    if sqrt:
        per_image = (per_image + 1e-12).sqrt()
    # mean over the images with valid pixels of the *global* batch under DDP (identity on one
    # process); with none it is a zero that keeps the graph (err is finite where pred is not)
    total = torch.where(has, per_image, torch.zeros_like(per_image)).sum() + err.sum() * 0
    return global_mean(total, has.sum())


@MODELS.register_module()
class SiLogLoss(nn.Module):
    """Registered wrapper of :func:`silog_loss`.

    Args:
        lambd (float): variance weight. Defaults to 0.15.
        sqrt (bool): square-root variant. Defaults to False.
        loss_weight (float): multiplier. Defaults to 1.0.
    """

    def __init__(self, lambd: float = 0.15, sqrt: bool = False, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.lambd = lambd
        self.sqrt = sqrt
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, valid_mask: Tensor) -> Tensor:
        return self.loss_weight * silog_loss(pred, target, valid_mask, self.lambd, self.sqrt)
