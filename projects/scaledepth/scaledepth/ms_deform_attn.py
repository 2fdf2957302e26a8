"""Multi-scale deformable attention (Zhu et al. 2021, Deformable DETR) in pure PyTorch.

Each query looks at ``num_points`` locations around its reference point on every feature level,
at offsets it predicts, and averages the bilinearly sampled values with weights it predicts
(softmax over levels x points). Sampling is ``F.grid_sample``; no compiled op is needed.
"""
import math
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def multi_scale_deformable_attention(value: Tensor, spatial_shapes: Sequence[Tuple[int, int]],
                                     sampling_locations: Tensor,
                                     attention_weights: Tensor) -> Tensor:
    """Weighted sum of bilinear samples of ``value`` at ``sampling_locations``.

    Args:
        value (Tensor): ``(B, S, M, D)``: the flattened levels (``S = sum h_l * w_l``, level by
            level, row-major), M heads of width D.
        spatial_shapes (Sequence[tuple[int, int]]): ``(h_l, w_l)`` of each of the L levels.
        sampling_locations (Tensor): ``(B, Q, M, L, P, 2)``, ``(x, y)`` in [0, 1] of each
            level (pixel centres at ``(i + 0.5) / w``); outside samples read zeros.
        attention_weights (Tensor): ``(B, Q, M, L, P)``.

    Returns:
        Tensor: ``(B, Q, M * D)``.
    """
    b, _, m, d = value.shape
    _, q, _, n_levels, n_points, _ = sampling_locations.shape
    values = value.split([h * w for h, w in spatial_shapes], dim=1)
    grids = 2 * sampling_locations - 1  # grid_sample's [-1, 1], align_corners=False
    sampled = []
    for lvl, (h, w) in enumerate(spatial_shapes):
        v = values[lvl].permute(0, 2, 3, 1).reshape(b * m, d, h, w)  # (B*M, D, h, w)
        g = grids[:, :, :, lvl].transpose(1, 2).flatten(0, 1)  # (B*M, Q, P, 2)
        sampled.append(F.grid_sample(v, g, mode='bilinear', padding_mode='zeros',
                                     align_corners=False))  # (B*M, D, Q, P)
    weights = attention_weights.transpose(1, 2).reshape(b * m, 1, q, n_levels * n_points)
    out = (torch.stack(sampled, dim=-2).flatten(-2) * weights).sum(-1)  # (B*M, D, Q)
    return out.view(b, m * d, q).transpose(1, 2)


class MultiScaleDeformableAttention(nn.Module):
    """Deformable attention over several feature levels, with the residual connection.

    Offsets are in units of each level's size (as in Deformable DETR, divided by ``(w_l,
    h_l)``). Initialisation as Deformable DETR: zero offset weights, offset biases on rings
    around the reference point (one direction per head, radius 1..P), uniform attention.

    Args:
        embed_dims (int): width C. Defaults to 256.
        num_heads (int): heads M. Defaults to 8.
        num_levels (int): levels L. Defaults to 3.
        num_points (int): points P per head and level. Defaults to 4.
        dropout (float): dropout on the output. Defaults to 0.0.
    """

    def __init__(self, embed_dims: int = 256, num_heads: int = 8, num_levels: int = 3,
                 num_points: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by num_heads {num_heads}')
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.num_levels, self.num_points = num_levels, num_points
        self.sampling_offsets = nn.Linear(embed_dims, num_heads * num_levels * num_points * 2)
        self.attention_weights = nn.Linear(embed_dims, num_heads * num_levels * num_points)
        self.value_proj = nn.Linear(embed_dims, embed_dims)
        self.output_proj = nn.Linear(embed_dims, embed_dims)
        self.dropout = nn.Dropout(dropout)
        self.init_weights()

    def init_weights(self) -> None:
        nn.init.zeros_(self.sampling_offsets.weight)
        theta = torch.arange(self.num_heads, dtype=torch.float32) * (2 * math.pi / self.num_heads)
        grid = torch.stack([theta.cos(), theta.sin()], -1)
        grid = grid / grid.abs().max(-1, keepdim=True)[0]
        grid = grid.view(self.num_heads, 1, 1, 2).repeat(1, self.num_levels, self.num_points, 1)
        grid = grid * torch.arange(1, self.num_points + 1, dtype=torch.float32).view(1, 1, -1, 1)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.flatten())
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        for lin in (self.value_proj, self.output_proj):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, query: Tensor, query_pos: Tensor, reference_points: Tensor,
                spatial_shapes: List[Tuple[int, int]]) -> Tensor:
        """Self-attention of the flattened levels (value = query).

        Args:
            query (Tensor): ``(B, S, C)``.
            query_pos (Tensor): ``(B, S, C)``, added to the query (not to the value).
            reference_points (Tensor): ``(B, S, L, 2)`` in [0, 1].
            spatial_shapes (list[tuple[int, int]]): ``(h_l, w_l)``.

        Returns:
            Tensor: ``(B, S, C)``, ``query + attention``.
        """
        b, s, c = query.shape
        m, n_l, n_p = self.num_heads, self.num_levels, self.num_points
        q = query + query_pos
        value = self.value_proj(query).view(b, s, m, c // m)
        offsets = self.sampling_offsets(q).view(b, s, m, n_l, n_p, 2)
        weights = self.attention_weights(q).view(b, s, m, n_l * n_p).softmax(-1)
        weights = weights.view(b, s, m, n_l, n_p)
        size = query.new_tensor([[w, h] for h, w in spatial_shapes])  # (L, 2) as (x, y)
        locations = (reference_points[:, :, None, :, None, :]
                     + offsets / size[None, None, None, :, None, :])
        out = multi_scale_deformable_attention(value, spatial_shapes, locations, weights)
        return query + self.dropout(self.output_proj(out))
