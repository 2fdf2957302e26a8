"""``NeWCRFsPSP``: the pyramid pooling module on the top backbone feature (PSPNet, Zhao et al.
2017), which gives NeWCRFs its first "prediction" ``V`` (paper Sec. 3.4)."""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tr2m.registry import MODELS


class ConvNormAct(nn.Sequential):
    """``conv (no bias) -> norm -> ReLU``, initialised as mmcv's ``ConvModule`` (Kaiming
    normal, fan-out, for ReLU; norm weight 1, bias 0)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 norm: nn.Module) -> None:
        conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                         bias=False)
        nn.init.kaiming_normal_(conv.weight, mode='fan_out', nonlinearity='relu')
        super().__init__()
        self.conv, self.norm, self.act = conv, norm, nn.ReLU(inplace=True)


@MODELS.register_module()
class NeWCRFsPSP(nn.Module):
    """``x -> bottleneck(cat[x, up(branch_s(pool_s(x))) for s in pool_scales])``.

    Released facts (``uper_crf_head.py``): pool scales (1, 2, 3, 6), 512 channels, 1x1 branch
    convs, a 3x3 bottleneck with BatchNorm, bilinear upsampling (``align_corners=False``). The
    released code means GroupNorm(256 groups) for the 1x1-pooled branch only (BatchNorm cannot
    normalise one value per channel at batch 1), but its assignment persists through the loop,
    so **every** branch ran with GroupNorm; that is reproduced here (``branch_norm_groups``).

    Args:
        in_channels (int): channels of the top backbone feature (Swin-L: 1536).
        channels (int): width of the branches and the output. Defaults to 512.
        pool_scales (Sequence[int]): adaptive pooling sizes. Defaults to (1, 2, 3, 6).
        branch_norm_groups (int): GroupNorm groups of the branches. Defaults to 256.
    """

    def __init__(self, in_channels: int, channels: int = 512,
                 pool_scales: Sequence[int] = (1, 2, 3, 6), branch_norm_groups: int = 256) -> None:
        super().__init__()
        if channels % branch_norm_groups:
            raise ValueError(f'channels {channels} is not a multiple of branch_norm_groups '
                             f'{branch_norm_groups}')
        self.pool_scales = tuple(pool_scales)
        self.branches = nn.ModuleList(
            ConvNormAct(in_channels, channels, 1, nn.GroupNorm(branch_norm_groups, channels))
            for _ in self.pool_scales)
        self.bottleneck = ConvNormAct(in_channels + len(self.pool_scales) * channels, channels,
                                      3, nn.BatchNorm2d(channels))
        self.out_channels = channels

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_channels, h, w)`` -> ``(B, channels, h, w)``."""
        size = x.shape[-2:]
        pooled = [F.interpolate(branch(F.adaptive_avg_pool2d(x, scale)), size=size,
                                mode='bilinear', align_corners=False)
                  for scale, branch in zip(self.pool_scales, self.branches)]
        return self.bottleneck(torch.cat([x, *pooled], dim=1))
