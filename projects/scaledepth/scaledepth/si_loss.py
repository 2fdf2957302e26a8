"""ScaleDepth's scale-invariant loss on the metric depth ``S x R`` (released ``SigPlusLoss``).

With ``g = log(S R + eps) - log(D_gt + eps)`` over the valid GT pixels of the whole batch
(``eps = 1e-3``), the loss is ``w * sqrt(Var(g) + lambda * mean(g)^2)``, ``lambda = 0.15``,
``w = 10``, ``Var`` the unbiased variance: the AdaBins / BinsFormer form (eq. 4 of TR2M with
``lambda = 0.85`` under a root), applied to the metric depth. As released, the pixels of all
images of a batch are pooled into one vector; ``reduction='image'`` computes it per image and
averages instead.
"""
import torch
from torch import Tensor, nn

from tr2m.registry import MODELS


def _si(g: Tensor, lambd: float, unbiased: bool) -> Tensor:
    var = g.var(unbiased=unbiased) if g.numel() > 1 else g.sum() * 0
    return (var + lambd * g.mean() ** 2).clamp_min(1e-12).sqrt()


def scaledepth_si_loss(pred: Tensor, target: Tensor, valid_mask: Tensor, lambd: float = 0.15,
                       eps: float = 1e-3, reduction: str = 'batch',
                       unbiased: bool = True) -> Tensor:
    """``sqrt(Var(g) + lambd * mean(g)^2)``, ``g = log(pred + eps) - log(target + eps)``.

    Args:
        pred (Tensor): predicted metric depth ``(B, 1, H, W)``, positive (m).
        target (Tensor): GT depth, same shape (m).
        valid_mask (Tensor): bool, same shape.
        lambd (float): weight of the squared mean. Defaults to 0.15 (released).
        eps (float): added inside both logs (m). Defaults to 1e-3 (released).
        reduction (str): 'batch' pools every valid pixel of the batch (released); 'image'
            averages the per-image values over images with a valid pixel. Defaults to 'batch'.
        unbiased (bool): unbiased variance (``torch.var``'s default, as released).
            Defaults to True.

    Returns:
        Tensor: scalar (0 with a gradient path when no pixel is valid).
    """
    valid = torch.broadcast_to(valid_mask, pred.shape)
    if not valid.any():
        return pred.new_zeros(()) + pred.sum() * 0  # +0 with a gradient path
    g = torch.log(pred[valid] + eps) - torch.log(target[valid] + eps)
    if reduction == 'batch':
        return _si(g, lambd, unbiased)
    if reduction == 'image':
        counts = valid.flatten(1).sum(1).tolist()
        per_image = [_si(gi, lambd, unbiased) for gi, c in zip(g.split(counts), counts) if c]
        return torch.stack(per_image).mean()
    raise ValueError(f"reduction must be 'batch' or 'image', got {reduction!r}")


@MODELS.register_module()
class ScaleDepthSILoss(nn.Module):
    """Registered wrapper of :func:`scaledepth_si_loss`.

    Args:
        loss_weight (float): multiplier. Defaults to 10.0 (released).
        lambd (float): weight of the squared mean. Defaults to 0.15.
        eps (float): added inside the logs. Defaults to 1e-3.
        reduction (str): 'batch' (released) or 'image'. Defaults to 'batch'.
        unbiased (bool): unbiased variance. Defaults to True.
    """

    def __init__(self, loss_weight: float = 10.0, lambd: float = 0.15, eps: float = 1e-3,
                 reduction: str = 'batch', unbiased: bool = True) -> None:
        super().__init__()
        if reduction not in ('batch', 'image'):
            raise ValueError(f"reduction must be 'batch' or 'image', got {reduction!r}")
        self.loss_weight, self.lambd, self.eps = loss_weight, lambd, eps
        self.reduction, self.unbiased = reduction, unbiased

    def forward(self, pred: Tensor, target: Tensor, valid_mask: Tensor) -> Tensor:
        return self.loss_weight * scaledepth_si_loss(pred, target, valid_mask, self.lambd,
                                                     self.eps, self.reduction, self.unbiased)
