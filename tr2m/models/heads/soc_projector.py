"""Projector of the scale-oriented contrastive branch (TR2M appendix A.3.3)."""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.registry import MODELS


@MODELS.register_module()
class SOCProjector(BaseModule):
    """1x1 conv, ReLU, 2x2 max pooling, 1x1 conv: ``(B, C, h, w) -> (B, E, ceil(h/2), ceil(w/2))``.

    With ``in_channels=1024`` the defaults give about 0.19M parameters (paper).

    Args:
        in_channels (int): fused feature width.
        hidden_channels (int): width after the first conv. Defaults to 160.
        out_channels (int): embedding width. Defaults to 160.
        pool (bool): apply the 2x2 max pooling. Defaults to True.
    """

    def __init__(self, in_channels: int, hidden_channels: int = 160, out_channels: int = 160,
                 pool: bool = True, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.out_channels = out_channels
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, hidden_channels, 1), nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True) if pool else nn.Identity(),
            nn.Conv2d(hidden_channels, out_channels, 1))  # linear end: signed embeddings

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


@MODELS.register_module()
class LinearSOCProjector(BaseModule):
    """One 1x1 conv: ``(B, C, h, w) -> (B, E, h, w)``, no activation, no pooling.

    A SOC projector between the paper's two-layer one and none at all: what the contrast
    separates in ``W x`` is a linear direction of ``x``, the features the heads read, at their
    resolution (no ReLU, no pooling). In the controlled experiment it separates the classes in
    its output (0.20) without making the full-width ``x`` more separable by cosine
    (docs/results.md#soc-mechanism).

    Args:
        in_channels (int): feature width.
        out_channels (int, optional): embedding width. Defaults to ``in_channels``.
        bias (bool): add a bias. Defaults to False (a shared offset only shifts every cosine).
    """

    def __init__(self, in_channels: int, out_channels: Optional[int] = None, bias: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.out_channels = out_channels or in_channels
        self.proj = nn.Conv2d(in_channels, self.out_channels, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)
