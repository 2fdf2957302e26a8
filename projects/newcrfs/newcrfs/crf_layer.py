"""``NeuralWindowCRF``: one neural-window fully-connected CRF stage of the NeWCRFs decoder.

Yuan et al., "Neural Window Fully-connected CRFs for Monocular Depth Estimation", CVPR 2022,
Sec. 3.2-3.4: inside each window the CRF's pairwise potential is a multi-head attention whose
queries and keys come from the image feature ``X`` and whose values are the current
prediction ``V`` (the upsampled output of the coarser stage, or the PPM feature at the top);
``W-MSA`` blocks alternate with shifted-window (``SW-MSA``) blocks, each with a relative
position bias, as in Swin. Facts of the released model (``newcrf_layers.py``): 3x3 conv
projections of ``X`` and ``V`` to the stage width, two blocks (regular, then shifted by half a
window), LayerNorm on ``X`` only (values are not normalised), a linear layer on the attended
values, the residual taken from ``X`` (not from ``V``), an MLP of ratio 4, the **same** ``V``
fed to both blocks, and a closing LayerNorm.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from tr2m.registry import MODELS

from .window_ops import relative_position_index, windowed


def window_attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor,
                     mask: Optional[Tensor] = None) -> Tensor:
    """``softmax(q k^T / sqrt(d) + bias + mask) v`` per window and head.

    Args:
        q, k (Tensor): ``(B * nW, heads, N, d)``.
        v (Tensor): ``(B * nW, heads, N, dv)``.
        bias (Tensor): relative position bias ``(heads, N, N)``.
        mask (Tensor, optional): additive ``(nW, N, N)`` shifted-window mask.

    Returns:
        Tensor: ``(B * nW, heads, N, dv)``.
    """
    logits = (q * (q.shape[-1] ** -0.5)) @ k.transpose(-2, -1) + bias.unsqueeze(0)
    if mask is not None:
        nw = mask.shape[0]
        logits = logits.view(-1, nw, *logits.shape[1:]) + mask[None, :, None]
        logits = logits.flatten(0, 1)
    return logits.softmax(-1) @ v


class CRFWindowAttention(nn.Module):
    """Queries/keys from ``x`` (one linear ``qk``), values given, relative position bias.

    Args:
        dim (int): channels of ``x`` and of the values.
        num_heads (int): attention heads; ``dim`` must be a multiple.
        window (int): window side.
    """

    def __init__(self, dim: int, num_heads: int, window: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} is not a multiple of num_heads {num_heads}')
        self.num_heads = num_heads
        self.window = window
        self.qk = nn.Linear(dim, 2 * dim)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer('relative_position_index', relative_position_index(window),
                             persistent=False)
        self.proj = nn.Linear(dim, dim)

    def bias(self) -> Tensor:
        """The ``(heads, N, N)`` relative position bias."""
        n = self.window * self.window
        table = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return table.view(n, n, -1).permute(2, 0, 1)

    def forward(self, x: Tensor, v: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """``x``, ``v``: ``(B * nW, N, dim)`` windows; ``mask``: ``(nW, N, N)`` or None."""
        bn, n, c = x.shape
        q, k = self.qk(x).view(bn, n, 2, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        v = v.view(bn, n, self.num_heads, -1).transpose(1, 2)  # (B*nW, heads, N, d)
        out = window_attention(q, k, v, self.bias(), mask)
        return self.proj(out.transpose(1, 2).reshape(bn, n, c))


class CRFBlock(nn.Module):
    """``x + attn(norm1(x), v)`` over (shifted) windows, then ``+ mlp(norm2(.))``.

    Args:
        dim (int): channels.
        num_heads (int): heads.
        window (int): window side.
        shift (int): cyclic shift (0 for W-MSA, ``window // 2`` for SW-MSA).
        mlp_ratio (float): MLP hidden width / ``dim``. Defaults to 4.0 (released).
    """

    def __init__(self, dim: int, num_heads: int, window: int, shift: int,
                 mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = CRFWindowAttention(dim, num_heads, window)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor, v: Tensor) -> Tensor:
        """``x``, ``v``: ``(B, H, W, dim)`` -> ``(B, H, W, dim)``."""
        x = x + windowed(self.attn, self.norm1(x), v, self.window, self.shift)
        return x + self.mlp(self.norm2(x))


@MODELS.register_module()
class NeuralWindowCRF(nn.Module):
    """One NeWCRFs stage: ``(X, V) -> (B, dim, h, w)`` (paper Fig. 3; released ``NewCRF``).

    Args:
        in_channels (int): channels of the backbone feature ``X``.
        value_channels (int): channels of the incoming prediction ``V``.
        dim (int): stage width (released: 128, 256, 512, 1024 from fine to coarse).
        num_heads (int): heads (released: 4, 8, 16, 32; 32 channels each).
        window (int): window side. Defaults to 7 (released).
        depth (int): blocks, alternating regular and shifted windows. Defaults to 2 (released).
        mlp_ratio (float): Defaults to 4.0.
    """

    def __init__(self, in_channels: int, value_channels: int, dim: int, num_heads: int,
                 window: int = 7, depth: int = 2, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        # 3x3 projections when the widths differ (always so in the released model)
        self.proj_x = (nn.Conv2d(in_channels, dim, 3, padding=1) if in_channels != dim
                       else nn.Identity())
        self.proj_v = (nn.Conv2d(value_channels, dim, 3, padding=1) if value_channels != dim
                       else nn.Identity())
        self.blocks = nn.ModuleList(
            CRFBlock(dim, num_heads, window, 0 if i % 2 == 0 else window // 2, mlp_ratio)
            for i in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.out_channels = dim

    def forward(self, x: Tensor, v: Tensor) -> Tensor:
        """``x``: ``(B, in_channels, h, w)``; ``v``: ``(B, value_channels, h, w)`` ->
        ``(B, dim, h, w)``."""
        if x.shape[-2:] != v.shape[-2:]:
            raise ValueError(f'feature {tuple(x.shape)} and prediction {tuple(v.shape)} '
                             'differ in size (inputs must be padded to a multiple of 32)')
        x = self.proj_x(x).permute(0, 2, 3, 1)  # (B, h, w, dim)
        v = self.proj_v(v).permute(0, 2, 3, 1)
        for block in self.blocks:
            x = block(x, v)  # the same V in every block, as released
        return self.norm(x).permute(0, 3, 1, 2).contiguous()  # (B, dim, h, w)

