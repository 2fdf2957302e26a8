"""Edge-aware smoothness (Godard et al. 2017), TR2M's ``L_es`` on the scale and shift maps."""
import torch
from torch import Tensor, nn

from tr2m.functional import float32_math
from tr2m.registry import MODELS

#: Lower bound of ``|mean(x)|`` in the mean normalisation (guards an all-zero map).
MEAN_EPS = 1e-7


@float32_math
def edge_aware_smoothness(x: Tensor, image: Tensor) -> Tensor:
    """``mean(|dx x'| exp(-|dx I|)) + mean(|dy x'| exp(-|dy I|))`` with ``x' = x / mean(x)``.

    ``x`` is divided by its mean per image and channel (by ``max(|mean|, 1e-7)``, so an all-zero
    map gives 0 and a global scale of ``x`` does not change the loss). ``|dI|`` is the absolute
    forward difference of the image averaged over its channels. Each term is a mean over all
    forward differences of the batch; a direction with a single row/column contributes 0.

    Args:
        x (Tensor): map to smooth ``(B, C, H, W)``, usually ``C = 1`` (scale ``A`` or shift
            ``B``).
        image (Tensor): RGB image ``(B, 3, H, W)`` in ``[0, 1]``, same ``H, W`` as ``x``.

    Returns:
        Tensor: scalar loss.
    """
    if x.dim() != 4 or image.dim() != 4 or x.shape[-2:] != image.shape[-2:]:
        raise ValueError(f'expected x (B, C, H, W) and image (B, 3, H, W) of equal size, got '
                         f'{tuple(x.shape)} and {tuple(image.shape)}')
    mean = x.mean(dim=(-2, -1), keepdim=True)
    x = x / mean.abs().clamp_min(MEAN_EPS)
    image = image.to(x.dtype)
    loss = x.sum() * 0  # graph-connected zero for 1x1 maps
    if x.shape[-1] > 1:
        dx = (x[..., :, 1:] - x[..., :, :-1]).abs()
        dx_img = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1, keepdim=True)
        loss = loss + (dx * torch.exp(-dx_img)).mean()
    if x.shape[-2] > 1:
        dy = (x[..., 1:, :] - x[..., :-1, :]).abs()
        dy_img = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1, keepdim=True)
        loss = loss + (dy * torch.exp(-dy_img)).mean()
    return loss


@MODELS.register_module()
class EdgeAwareSmoothnessLoss(nn.Module):
    """Edge-aware smoothness loss ``L_es`` (Godard et al. 2017; TR2M's fourth loss term).

    Wraps :func:`edge_aware_smoothness`. TR2M applies it to the scale map ``A`` and to the shift
    map ``B`` separately and adds the two (call the module twice).

    Args:
        loss_weight (float): multiplier. Defaults to 0.01 (paper).
    """

    def __init__(self, loss_weight: float = 0.01) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, x: Tensor, image: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            x (Tensor): map ``(B, 1, H, W)`` (the mean normalisation is per channel).
            image (Tensor): RGB ``(B, 3, H, W)`` in ``[0, 1]`` (un-normalised).

        Returns:
            Tensor: weighted scalar loss.
        """
        return self.loss_weight * edge_aware_smoothness(x, image)
