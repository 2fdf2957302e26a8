"""ARDE, adaptive relative-depth estimation: bins in a normalised depth space, per image.

Each bin query gives one bin-width logit and one per-pixel mask (Mask2Former's mask
embedding dotted with the pixel decoder's mask features). As released (``bin2depth`` with
``with_scale``):

- widths ``b = softmax(bin logits)`` over the N bins (they sum to 1);
- edges ``e = cumsum([min_depth, b_1, ..., b_N])``, so the space is ``[min_depth, 1 +
  min_depth]`` (``min_depth = 1e-3``), and centres ``c_n = (e_{n-1} + e_n) / 2``;
- relative depth ``R(x) = sum_n softmax_n(mask logits)(x) c_n``.

The mask logits also give the next layer's attention mask (mask-guided attention): a query
may attend only where its mask's sigmoid is >= 0.5 (at the next level's resolution).
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tr2m.registry import MODELS


def bins_to_relative_depth(bin_logits: Tensor, mask_logits: Tensor, min_depth: float = 1e-3,
                           norm: str = 'softmax') -> Tuple[Tensor, Tensor]:
    """Relative depth from bin-width logits and per-bin masks.

    Args:
        bin_logits (Tensor): ``(B, N)``.
        mask_logits (Tensor): ``(B, N, h, w)``.
        min_depth (float): the first edge. Defaults to 1e-3 (released).
        norm (str): bin widths from the logits: 'softmax' (released), 'linear' (``relu + 0.1``)
            or 'sigmoid', each then divided by its sum. Defaults to 'softmax'.

    Returns:
        tuple[Tensor, Tensor]: relative depth ``(B, 1, h, w)`` in ``[min_depth, 1 +
        min_depth]`` and the bin edges ``(B, N + 1)``.
    """
    if norm == 'softmax':
        widths = bin_logits.softmax(-1)
    elif norm == 'linear':
        widths = F.relu(bin_logits) + 0.1
    elif norm == 'sigmoid':
        widths = bin_logits.sigmoid()
    else:
        raise ValueError(f"norm must be 'softmax', 'linear' or 'sigmoid', got {norm!r}")
    widths = widths / widths.sum(-1, keepdim=True)
    edges = torch.cumsum(F.pad(widths, (1, 0), value=min_depth), -1)  # (B, N + 1)
    centres = 0.5 * (edges[:, :-1] + edges[:, 1:])
    rel = (mask_logits.softmax(1) * centres[:, :, None, None]).sum(1, keepdim=True)
    return rel, edges


def attention_mask(mask_logits: Tensor, size: Tuple[int, int], num_heads: int) -> Tensor:
    """Mask2Former's attention mask: ``sigmoid(resized logits) < 0.5`` (True = masked out),
    ``(B * num_heads, N, h * w)``, detached."""
    m = F.interpolate(mask_logits, size=size, mode='bilinear', align_corners=False)
    m = m.flatten(2).sigmoid() < 0.5  # (B, N, h*w)
    return m.repeat_interleave(num_heads, 0).detach()


@MODELS.register_module()
class AdaptiveBinHead(nn.Module):
    """Bin-width logits and per-bin masks from the bin queries (the decoder's post-norm first).

    Args:
        channels (int): query width. Defaults to 256.
        mask_channels (int): width of the mask features. Defaults to 256.
        min_depth (float): first bin edge. Defaults to 1e-3.
        norm (str): see :func:`bins_to_relative_depth`. Defaults to 'softmax'.
    """

    def __init__(self, channels: int = 256, mask_channels: int = 256, min_depth: float = 1e-3,
                 norm: str = 'softmax') -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.bin_embed = nn.Linear(channels, 1)
        self.mask_embed = nn.Sequential(
            nn.Linear(channels, channels), nn.ReLU(inplace=True),
            nn.Linear(channels, channels), nn.ReLU(inplace=True),
            nn.Linear(channels, mask_channels))
        self.min_depth = min_depth
        self.bin_norm = norm
        bins_to_relative_depth(torch.zeros(1, 2), torch.zeros(1, 2, 1, 1), norm=norm)  # check

    def forward(self, queries: Tensor, mask_features: Tensor) -> Tuple[Tensor, Tensor]:
        """``(B, N, C)`` queries, ``(B, C', h, w)`` mask features -> bin logits ``(B, N)`` and
        mask logits ``(B, N, h, w)``."""
        q = self.norm(queries)
        bins = self.bin_embed(q).squeeze(-1)
        masks = torch.einsum('bnc,bchw->bnhw', self.mask_embed(q), mask_features)
        return bins, masks

    def depth(self, bin_logits: Tensor, mask_logits: Tensor) -> Tuple[Tensor, Tensor]:
        """Relative depth and bin edges (:func:`bins_to_relative_depth`)."""
        return bins_to_relative_depth(bin_logits, mask_logits, self.min_depth, self.bin_norm)
