"""Mask2Former's multi-scale deformable-attention pixel decoder (ScaleDepth's, as released).

The three coarsest backbone levels (strides 8, 16, 32) are projected to ``channels``, get a
sine position and a learnt level embedding, and pass through ``num_layers`` deformable
self-attention encoder layers; the finest level (stride 4) joins through an FPN step (lateral
1x1, upsampled sum, 3x3). Outputs: the per-pixel "mask features" at stride 4 and the three
encoded levels, coarsest first, which the transformer decoder's queries read in turn.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.registry import MODELS

from .ms_deform_attn import MultiScaleDeformableAttention
from .sine_position import sine_position_encoding


def conv_norm(in_channels: int, out_channels: int, kernel: int, groups: int, bias: bool,
              act: bool) -> nn.Sequential:
    """Conv + GroupNorm (+ ReLU)."""
    layers = [nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=bias),
              nn.GroupNorm(groups, out_channels)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def caffe2_xavier_(conv: nn.Conv2d) -> None:
    nn.init.kaiming_uniform_(conv.weight, a=1, mode='fan_in', nonlinearity='leaky_relu')
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class DeformableEncoderLayer(nn.Module):
    """Deformable self-attention + FFN, each with a residual and a post LayerNorm."""

    def __init__(self, channels: int, num_heads: int, num_levels: int, num_points: int,
                 ffn_channels: int) -> None:
        super().__init__()
        self.self_attn = MultiScaleDeformableAttention(channels, num_heads, num_levels,
                                                       num_points)
        self.norm1 = nn.LayerNorm(channels)
        self.ffn = nn.Sequential(nn.Linear(channels, ffn_channels), nn.ReLU(inplace=True),
                                 nn.Linear(ffn_channels, channels))
        self.norm2 = nn.LayerNorm(channels)

    def forward(self, x: Tensor, pos: Tensor, reference_points: Tensor,
                spatial_shapes: List[Tuple[int, int]]) -> Tensor:
        x = self.norm1(self.self_attn(x, pos, reference_points, spatial_shapes))
        return self.norm2(x + self.ffn(x))


@MODELS.register_module()
class MSDeformAttnPixelDecoder(BaseModule):
    """Multi-scale deformable-attention pixel decoder (Mask2Former; ScaleDepth as released).

    Args:
        in_channels (Sequence[int]): channels of the backbone levels, finest first.
        channels (int): width of the decoder. Defaults to 256.
        num_layers (int): deformable encoder layers. Defaults to 6.
        num_heads (int): attention heads. Defaults to 8.
        num_points (int): sampling points per head and level. Defaults to 4.
        ffn_channels (int): hidden width of the encoder FFN. Defaults to 1024.
        num_encoder_levels (int): how many of the coarsest levels the encoder attends over;
            the finer ones join by the FPN step. Defaults to 3.
        num_groups (int): GroupNorm groups. Defaults to 32.
    """

    def __init__(self, in_channels: Sequence[int], channels: int = 256, num_layers: int = 6,
                 num_heads: int = 8, num_points: int = 4, ffn_channels: int = 1024,
                 num_encoder_levels: int = 3, num_groups: int = 32,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        if not 1 <= num_encoder_levels < len(self.in_channels):
            raise ValueError(f'num_encoder_levels must be in [1, {len(self.in_channels)}), got '
                             f'{num_encoder_levels}')
        self.channels = channels
        self.num_encoder_levels = num_encoder_levels
        n_in = len(self.in_channels)
        # coarsest level first
        self.input_convs = nn.ModuleList(
            conv_norm(self.in_channels[i], channels, 1, num_groups, bias=True, act=False)
            for i in range(n_in - 1, n_in - num_encoder_levels - 1, -1))
        self.level_encoding = nn.Embedding(num_encoder_levels, channels)
        self.layers = nn.ModuleList(
            DeformableEncoderLayer(channels, num_heads, num_encoder_levels, num_points,
                                   ffn_channels) for _ in range(num_layers))
        # finer levels, from the coarsest of them to the finest
        fine = range(n_in - num_encoder_levels - 1, -1, -1)
        self.lateral_convs = nn.ModuleList(
            conv_norm(self.in_channels[i], channels, 1, num_groups, bias=False, act=False)
            for i in fine)
        self.output_convs = nn.ModuleList(
            conv_norm(channels, channels, 3, num_groups, bias=False, act=True) for _ in fine)
        self.mask_feature = nn.Conv2d(channels, channels, 1)
        self._init()

    def _init(self) -> None:
        for conv in self.input_convs:
            nn.init.xavier_uniform_(conv[0].weight)
            nn.init.zeros_(conv[0].bias)
        for conv in [*self.lateral_convs, *self.output_convs]:
            caffe2_xavier_(conv[0])
        caffe2_xavier_(self.mask_feature)
        nn.init.normal_(self.level_encoding.weight, 0.0, 1.0)
        for p in self.layers.parameters():
            if p.dim() > 1:
                nn.init.xavier_normal_(p)
        for m in self.layers.modules():
            if isinstance(m, MultiScaleDeformableAttention):
                m.init_weights()

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, List[Tensor]]:
        """Backbone levels (finest first) -> ``(mask_features (B, C, H/4, W/4), [level (B, C,
        h, w)] coarsest first)``."""
        if len(feats) != len(self.in_channels):
            raise ValueError(f'expected {len(self.in_channels)} feature levels, got {len(feats)}')
        b = feats[0].shape[0]
        tokens, pos, refs, shapes = [], [], [], []
        for i, conv in enumerate(self.input_convs):
            x = conv(feats[len(feats) - 1 - i])  # (B, C, h, w)
            h, w = x.shape[-2:]
            shapes.append((h, w))
            tokens.append(x.flatten(2).transpose(1, 2))
            p = sine_position_encoding(h, w, self.channels // 2, device=x.device, dtype=x.dtype)
            pos.append((p + self.level_encoding.weight[i].view(1, -1, 1, 1)).flatten(2)
                       .transpose(1, 2))
            ys = (torch.arange(h, device=x.device, dtype=x.dtype) + 0.5) / h
            xs = (torch.arange(w, device=x.device, dtype=x.dtype) + 0.5) / w
            refs.append(torch.stack(torch.meshgrid(xs, ys, indexing='xy'), -1).view(-1, 2))
        x = torch.cat(tokens, 1)  # (B, S, C)
        pos_all = torch.cat(pos, 1).expand(b, -1, -1)
        ref = torch.cat(refs, 0)[None, :, None].expand(b, -1, len(shapes), -1)  # (B, S, L, 2)
        for layer in self.layers:
            x = layer(x, pos_all, ref, shapes)
        outs = [t.transpose(1, 2).reshape(b, self.channels, h, w)
                for t, (h, w) in zip(x.split([h * w for h, w in shapes], 1), shapes)]
        for i, (lateral, output) in enumerate(zip(self.lateral_convs, self.output_convs)):
            cur = lateral(feats[len(self.lateral_convs) - 1 - i])
            y = cur + F.interpolate(outs[-1], size=cur.shape[-2:], mode='bilinear',
                                    align_corners=False)
            outs.append(output(y))
        return self.mask_feature(outs[-1]), outs[:self.num_encoder_levels]
