"""``GlobalScaleShiftHead``: an embedding -> one positive scale and shift per image (RSA)."""
import math
from typing import Optional, Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.models.layers.image_ops import positive_map
from tr2m.registry import MODELS

ACTIVATIONS = ('exp', 'sigmoid')


def _mlp(channels: Sequence[int], out_channels: Optional[int] = None) -> nn.Sequential:
    """Linear layers through ``channels`` with LeakyReLU between them (and after the last one
    when ``out_channels`` follows)."""
    layers = []
    for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
        layers.append(nn.Linear(c_in, c_out))
        if i < len(channels) - 2 or out_channels is not None:
            layers.append(nn.LeakyReLU())
    if out_channels is not None:
        layers.append(nn.Linear(channels[-1], out_channels))
    return nn.Sequential(*layers)


@MODELS.register_module()
class GlobalScaleShiftHead(BaseModule):
    """RSA's head: a shared MLP to a scene code, then two small MLPs giving one scale ``s`` and
    one shift ``t`` per image (Zeng et al., NeurIPS 2024), for ``D = 1 / (s * Dr + t)``.

    Layout (RSA's released code): ``in -> 512 -> 256 -> 256`` (LeakyReLU), then per output
    ``256 -> 128 -> 64 -> 1`` (LeakyReLU), then the activation. The last layer of each output
    starts with zero weights and the bias of ``init_scale`` / ``init_shift`` (through the
    inverse activation), so training starts from a known global affine map.

    Args:
        in_channels (int): text embedding width (read from the text encoder by the depther).
        channels (Sequence[int]): widths of the shared MLP. Defaults to (512, 256, 256).
        head_channels (Sequence[int]): hidden widths of each output MLP. Defaults to (128, 64).
        scale_act (str): 'exp' (positive, unbounded) or 'sigmoid' (RSA's code: in (0, 1)).
            Defaults to 'exp'.
        init_scale (float): initial scale (in (0, 1) for 'sigmoid'). Defaults to 1.0.
        init_shift (float): initial shift, positive (the shift always uses ``exp``).
            Defaults to 1.0.
        activation (str): how 'exp' is computed, a mode of
            :func:`~tr2m.models.layers.image_ops.positive_map`. Defaults to 'exp_st' (``exp``
            with a gradient at its bound; keeps ``init_scale``/``init_shift`` exact).
    """

    def __init__(self, in_channels: int, channels: Sequence[int] = (512, 256, 256),
                 head_channels: Sequence[int] = (128, 64), scale_act: str = 'exp',
                 init_scale: float = 1.0, init_shift: float = 1.0,
                 init_cfg: Optional[dict] = None, activation: str = 'exp_st') -> None:
        super().__init__(init_cfg=init_cfg)
        self.activation = activation
        if scale_act not in ACTIVATIONS:
            raise ValueError(f'scale_act must be one of {ACTIVATIONS}, got {scale_act!r}')
        if init_shift <= 0 or init_scale <= 0 or (scale_act == 'sigmoid' and init_scale >= 1):
            raise ValueError(f'init_scale {init_scale} / init_shift {init_shift} outside the '
                             f'range of the activations (scale_act={scale_act!r})')
        self.scale_act = scale_act
        self.scene = _mlp([in_channels, *channels])
        self.scale = _mlp([channels[-1], *head_channels], 1)
        self.shift = _mlp([channels[-1], *head_channels], 1)
        scale_bias = (math.log(init_scale) if scale_act == 'exp'
                      else math.log(init_scale / (1 - init_scale)))
        for mlp, bias in ((self.scale, scale_bias), (self.shift, math.log(init_shift))):
            nn.init.zeros_(mlp[-1].weight)
            nn.init.constant_(mlp[-1].bias, bias)

    def forward(self, emb: Tensor) -> Tuple[Tensor, Tensor]:
        """``(B, D')`` embedding -> scale and shift, each ``(B, 1, 1, 1)``, positive."""
        code = self.scene(emb)
        s = self.scale(code)
        s = positive_map(s, self.activation) if self.scale_act == 'exp' else s.sigmoid()
        t = positive_map(self.shift(code), self.activation)
        return s[:, :, None, None], t[:, :, None, None]
