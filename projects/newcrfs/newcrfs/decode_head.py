"""``NeWCRFsHead``: PPM on the top feature, four neural-window CRF stages from coarse to fine,
and the disparity head (paper Fig. 2; released ``NewCRFDepth.forward``)."""
from typing import List, Sequence

from torch import Tensor, nn

from tr2m.registry import MODELS

from .crf_layer import NeuralWindowCRF
from .disp_head import NeWCRFsDispHead
from .psp_head import NeWCRFsPSP


@MODELS.register_module()
class NeWCRFsHead(nn.Module):
    """Backbone features ``[(B, C_i, H / 2^(i+2), W / 2^(i+2))]_{i=0..3}`` -> ``(B, 1, H, W)``
    in (0, 1).

    Data flow (released): ``V_3 = psp(F_3)``; for ``i = 3, 2, 1, 0``:
    ``E_i = crf_blocks[i](F_i, V_i)`` and ``V_{i-1} = pixel_shuffle_2(E_i)``; the output is
    ``disp_head(E_0)``. Each stage's value width is therefore a quarter of the next coarser
    stage's width (``psp_channels`` for the top stage): 64, 128, 256, 512 for the released
    widths 128, 256, 512, 1024.

    Named submodules, for hooks such as a contrastive loss on a decoder feature:
    ``psp`` -> ``(B, psp_channels, H/32, W/32)``; ``crf_blocks.i`` -> ``(B, dims[i],
    H / 2^(i+2), W / 2^(i+2))`` (``crf_blocks.0`` is the finest, at 1/4); ``disp_head``.

    Args:
        in_channels (Sequence[int]): the four backbone widths (Swin-L: 192, 384, 768, 1536).
        dims (Sequence[int]): CRF stage widths, fine to coarse. Defaults to
            (128, 256, 512, 1024) (released).
        num_heads (Sequence[int]): heads per stage. Defaults to (4, 8, 16, 32) (released).
        window (int): CRF window side. Defaults to 7 (released).
        psp_channels (int): PPM width. Defaults to 512 (released).
        pool_scales (Sequence[int]): Defaults to (1, 2, 3, 6).
        branch_norm_groups (int): GroupNorm groups of the PPM branches. Defaults to 256.
        upsample (str): disparity upsampling, ``'bilinear'`` (released) or ``'mask'``.
            Defaults to 'bilinear'.
    """

    def __init__(self, in_channels: Sequence[int], dims: Sequence[int] = (128, 256, 512, 1024),
                 num_heads: Sequence[int] = (4, 8, 16, 32), window: int = 7,
                 psp_channels: int = 512, pool_scales: Sequence[int] = (1, 2, 3, 6),
                 branch_norm_groups: int = 256, upsample: str = 'bilinear') -> None:
        super().__init__()
        if not len(in_channels) == len(dims) == len(num_heads) == 4:
            raise ValueError(f'NeWCRFsHead needs four stages, got in_channels={in_channels}, '
                             f'dims={dims}, num_heads={num_heads}')
        if any(d % 4 for d in dims[1:]):
            raise ValueError(f'dims[1:] must be multiples of 4 (pixel shuffle), got {dims}')
        self.psp = NeWCRFsPSP(in_channels[3], psp_channels, pool_scales, branch_norm_groups)
        values = [dims[1] // 4, dims[2] // 4, dims[3] // 4, psp_channels]
        self.crf_blocks = nn.ModuleList(
            NeuralWindowCRF(in_channels[i], values[i], dims[i], num_heads[i], window)
            for i in range(4))
        self.shuffle = nn.PixelShuffle(2)
        self.disp_head = NeWCRFsDispHead(dims[0], upsample=upsample)
        self.dims = tuple(dims)

    def forward(self, feats: List[Tensor]) -> Tensor:
        """The four backbone features -> ``(B, 1, 4 h_0, 4 w_0)`` in (0, 1)."""
        v = self.psp(feats[3])  # (B, psp_channels, H/32, W/32)
        for i in (3, 2, 1):
            v = self.shuffle(self.crf_blocks[i](feats[i], v))  # (B, dims[i] / 4, 2h, 2w)
        return self.disp_head(self.crf_blocks[0](feats[0], v))  # (B, 1, H, W)
