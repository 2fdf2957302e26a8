"""``RescaleHead``: a light DPT-like decoder predicting a positive scale or shift map."""
from typing import Optional, Tuple

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.models.layers.conv_blocks import ResidualConvUnit
from tr2m.models.layers.image_ops import exp_clamped
from tr2m.registry import MODELS


@MODELS.register_module()
class RescaleHead(BaseModule):
    """DPT-like decoder without the reassemble stage (TR2M section 3.2): a projection conv,
    ``num_stages`` resampling stages (two residual conv units, x2 bilinear upsampling, 1x1
    conv), a 1-channel projection, bilinear upsampling to the input size, then ``exp``.

    Args:
        in_channels (int): width of the fused features.
        channels (int): decoder width. Defaults to 256.
        num_stages (int): resampling stages. Defaults to 2.
        global_pool (bool): predict one value per image instead of a map (the paper's
            Table 4 "global factors" row); the output is still broadcast to ``(H, W)``.
            Defaults to False.
        bias_init (float): initial bias of the last conv, i.e. the initial log of the output.
            Defaults to 0.0 (output starts near 1).
    """

    def __init__(self, in_channels: int, channels: int = 256, num_stages: int = 2,
                 global_pool: bool = False, bias_init: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.global_pool = global_pool
        self.proj = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.stages = nn.ModuleList(
            nn.Sequential(ResidualConvUnit(channels), ResidualConvUnit(channels),
                          nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),
                          nn.Conv2d(channels, channels, 1)) for _ in range(num_stages))
        self.out = nn.Sequential(nn.Conv2d(channels, channels // 2, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels // 2, 1, 1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.constant_(self.out[-1].bias, bias_init)

    def forward(self, feats: Tensor, out_size: Tuple[int, int]) -> Tensor:
        """``(B, C, h, w)`` -> positive map ``(B, 1, *out_size)``."""
        x = self.proj(feats)
        for stage in self.stages:
            x = stage(x)
        if self.global_pool:
            x = F.adaptive_avg_pool2d(x, 1)
        x = self.out(x)
        x = F.interpolate(x, size=out_size, mode='bilinear', align_corners=False)
        return exp_clamped(x)
