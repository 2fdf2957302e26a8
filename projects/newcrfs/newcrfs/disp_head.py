"""``NeWCRFsDispHead``: the NeWCRFs output head, a normalised disparity-like map in (0, 1)."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tr2m.registry import MODELS


def convex_upsample(x: Tensor, mask: Tensor, factor: int) -> Tensor:
    """Upsample ``x`` ``(B, 1, h, w)`` by ``factor`` as a convex combination of its 3x3
    neighbourhood (RAFT's learnt upsampling, in the released NeWCRFs code as ``upsample_mask``).

    Args:
        x (Tensor): ``(B, 1, h, w)``.
        mask (Tensor): ``(B, 9 * factor**2, h, w)`` logits; a softmax over the 9 neighbours
            gives each output pixel's weights. Neighbours outside the map are zeros.
        factor (int): upsampling factor.

    Returns:
        Tensor: ``(B, 1, factor * h, factor * w)``.
    """
    b, _, h, w = x.shape
    weights = mask.view(b, 1, 9, factor, factor, h, w).softmax(dim=2)
    neighbours = F.unfold(x, kernel_size=3, padding=1).view(b, 1, 9, 1, 1, h, w)
    up = (weights * neighbours).sum(dim=2)  # (B, 1, factor, factor, h, w)
    return up.permute(0, 1, 4, 2, 5, 3).reshape(b, 1, factor * h, factor * w)


@MODELS.register_module()
class NeWCRFsDispHead(nn.Module):
    """``sigmoid(conv3x3(x))`` upsampled by ``factor``: ``(B, C, h, w) -> (B, 1, 4h, 4w)``.

    The depther multiplies it by ``max_depth``. The released model upsamples bilinearly
    (``up_mode = 'bilinear'`` in ``NewCRFDepth.py``); its code also holds a mask head for
    convex upsampling that the released configuration never builds: ``upsample='mask'``.

    Args:
        in_channels (int): channels of the finest CRF output (released: 128).
        upsample (str): ``'bilinear'`` (released) or ``'mask'`` (convex, learnt).
            Defaults to 'bilinear'.
        factor (int): upsampling factor (the finest CRF stage is at 1/4). Defaults to 4.
    """

    def __init__(self, in_channels: int, upsample: str = 'bilinear', factor: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 1, 3, padding=1)
        self.upsample, self.factor = upsample, factor
        if upsample == 'mask':
            self.mask_head = nn.Sequential(
                nn.Conv2d(in_channels, 64, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(64, 9 * factor * factor, 1))
        elif upsample != 'bilinear':
            raise ValueError(f"upsample must be 'bilinear' or 'mask', got {upsample!r}")

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, h, w)`` -> ``(B, 1, factor h, factor w)`` in (0, 1)."""
        disp = torch.sigmoid(self.conv(x))  # (B, 1, h, w) in (0, 1)
        if self.factor == 1:
            return disp
        if self.upsample == 'mask':
            return convex_upsample(disp, self.mask_head(x), self.factor)
        if self.upsample == 'bilinear':
            return F.interpolate(disp, scale_factor=self.factor, mode='bilinear',
                                 align_corners=False)
        raise ValueError(f"upsample must be 'bilinear' or 'mask', got {self.upsample!r}")
