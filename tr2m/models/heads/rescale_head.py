"""``RescaleHead``: a light DPT-like decoder predicting a scale or shift map (or a signed shift)."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.models.layers.conv_blocks import ResidualConvUnit
from tr2m.models.layers.image_ops import MAP_ACTIVATIONS, map_activation
from tr2m.registry import MODELS


@MODELS.register_module()
class RescaleHead(BaseModule):
    """DPT-like decoder without the reassemble stage (TR2M section 3.2): a projection conv,
    ``num_stages`` resampling stages (two residual conv units, x2 bilinear upsampling, 1x1
    conv, as DPT's fusion blocks), a 1-channel projection (3x3 conv to ``channels // 2``, an
    activation, 1x1 conv to 1, as DPT's head; LeakyReLU by default, see ``act_cfg``), bilinear
    upsampling to the input size, then a positive map (the paper's ``exp``; softplus by
    default, see ``activation``).

    Width: the paper fixes the structure (above) and the trainable total (~19M) but not the
    width. One decoder has about ``9 D C + 78.5 C^2`` parameters for input width D and decoder
    width C (3x3 projection ``9 D C``, two stages ``2 x 37 C^2``, output ``4.5 C^2``). With the
    learnt neck (6.04M for D = 1024, see ``CrossModalAttentionNeck``) the default is DPT's usual
    ``C = 256``: 7.51M per decoder, and 21.24M trainable for the paper setting with the SOC
    projector (0.19M), inside the 17-24M the paper's ~19M allows (C = 288 would give 24.6M).

    Args:
        in_channels (int): width of the fused features.
        channels (int): decoder width C. Defaults to 256 (see above).
        num_stages (int): resampling stages. Defaults to 2.
        global_pool (bool): predict one value per image instead of a map (the paper's
            Table 4 "global factors" row): the decoder's features are averaged over the
            image before the 1-channel projection, and the value is broadcast to ``(H, W)``.
            Defaults to False.
        bias_init (float): initial bias of the last conv (its weights start at zero, so the
            head starts as the constant ``positive_map(bias_init)``: ``exp(bias_init)`` for the
            ``exp`` activations, ``softplus(bias_init + log(e - 1)) + 1e-9`` for softplus; 1
            (to 1e-9) for 0; ``bias_init`` itself for 'signed').
            Defaults to 0.0 (output starts at 1).
        activation (str): the output map, a mode of
            :func:`~tr2m.models.layers.image_ops.map_activation`: a positive map
            ('softplus', 'exp_st' = the paper's ``exp``, 'bounded', 'exp_clamped') or
            'signed' (the identity; for a shift map only). Defaults to 'softplus'
            (measured on the demo set against 'exp_st' and the old hard clamp: README,
            "Heads that cannot die"; the shift options: docs/results.md, "Shift map").
        act_cfg (dict): the activation of the 1-channel projection, a ``torch.nn`` class name
            and its arguments. Defaults to ``dict(type='LeakyReLU', negative_slope=0.1)``.
            DPT's ``ReLU`` (``dict(type='ReLU')``) dies for whole domains on the demo set: 6
            of 18 quickstart-config runs (6 SOC / loss variants x 3 seeds) ended with the scale
            map one constant on every indoor and outdoor pixel (every unit off in the one
            inspected), i.e. one global scale for both domains (AbsRel 0.50 / 0.86), with no
            gradient to leave it; LeakyReLU(0.1) trained all three seeds (0.260 / 0.223 /
            0.251), GELU collapsed on seed 1 (``configs/grids/head_act_demo.py``, README).
    """

    def __init__(self, in_channels: int, channels: int = 256, num_stages: int = 2,
                 global_pool: bool = False, bias_init: float = 0.0,
                 init_cfg: Optional[dict] = None, activation: str = 'softplus',
                 act_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        act_cfg = dict(act_cfg or dict(type='LeakyReLU', negative_slope=0.1))
        act_type = act_cfg.pop('type')
        act_layer = getattr(nn, act_type, None) if isinstance(act_type, str) else None
        if not (isinstance(act_layer, type) and issubclass(act_layer, nn.Module)):
            raise ValueError(f'RescaleHead: act_cfg type must name a torch.nn module, '
                             f'got {act_type!r}')
        if activation not in MAP_ACTIVATIONS:
            raise ValueError(f'RescaleHead: activation must be one of {MAP_ACTIVATIONS}, '
                             f'got {activation!r}')
        self.activation = activation
        self.global_pool = global_pool
        self.proj = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.stages = nn.ModuleList(
            nn.Sequential(ResidualConvUnit(channels), ResidualConvUnit(channels),
                          nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),
                          nn.Conv2d(channels, channels, 1)) for _ in range(num_stages))
        self.out = nn.Sequential(nn.Conv2d(channels, channels // 2, 3, padding=1),
                                 act_layer(**act_cfg),
                                 nn.Conv2d(channels // 2, 1, 1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.constant_(self.out[-1].bias, bias_init)

    def preactivation(self, feats: Tensor, out_size: Tuple[int, int]) -> Tensor:
        """``(B, C, h, w)`` -> the map's pre-activation ``(B, 1, *out_size)``."""
        if feats.device.type == 'cpu':
            # NHWC: oneDNN's conv backward is ~1.6x faster (256-channel 3x3 conv at 38x50,
            # batch 2, one thread: 66 vs 104 ms); the paper decoders' step drops ~25%
            feats = feats.contiguous(memory_format=torch.channels_last)
        x = self.proj(feats)
        for stage in self.stages:
            x = stage(x)
        if self.global_pool:
            x = F.adaptive_avg_pool2d(x, 1)
        x = self.out(x)
        return F.interpolate(x, size=out_size, mode='bilinear', align_corners=False)

    def forward(self, feats: Tensor, out_size: Tuple[int, int]) -> Tensor:
        """``(B, C, h, w)`` -> map ``(B, 1, *out_size)`` (positive unless 'signed')."""
        return map_activation(self.preactivation(feats, out_size), self.activation)
