"""The normalised sine positional encoding of DETR (no padding mask: every pixel is valid)."""
import math

import torch
from torch import Tensor


def sine_position_encoding(h: int, w: int, num_feats: int = 128, temperature: float = 10000.0,
                           device=None, dtype=torch.float32) -> Tensor:
    """``(1, 2 * num_feats, h, w)``: y then x, each ``(sin, cos)`` interleaved over frequencies.

    Positions are ``1..h`` and ``1..w`` divided by ``h`` / ``w`` (plus 1e-6) and scaled to
    ``2 pi``; frequency ``k`` is ``temperature ** (2 * (k // 2) / num_feats)``.
    """
    scale, eps = 2 * math.pi, 1e-6
    y = torch.arange(1, h + 1, device=device, dtype=dtype) / (h + eps) * scale
    x = torch.arange(1, w + 1, device=device, dtype=dtype) / (w + eps) * scale
    k = torch.arange(num_feats, device=device, dtype=dtype)
    freq = temperature ** (2 * torch.div(k, 2, rounding_mode='floor') / num_feats)
    pos_y = y[:, None] / freq  # (h, F)
    pos_x = x[:, None] / freq  # (w, F)
    pos_y = torch.stack([pos_y[:, 0::2].sin(), pos_y[:, 1::2].cos()], -1).flatten(1)
    pos_x = torch.stack([pos_x[:, 0::2].sin(), pos_x[:, 1::2].cos()], -1).flatten(1)
    pos = torch.cat([pos_y[:, None, :].expand(h, w, num_feats),
                     pos_x[None, :, :].expand(h, w, num_feats)], -1)  # (h, w, 2F)
    return pos.permute(2, 0, 1)[None]
