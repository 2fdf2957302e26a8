"""Frozen DINOv2 image encoder (through ``transformers``): patch tokens as a feature map.

Presets (random-init parameter counts, equal to the hub checkpoints'): ``vits14`` 22.1M (D=384),
``vitb14`` 86.6M (D=768), ``vitl14`` 304.4M (D=1024, the paper's), ``vitg14`` 1136.5M
(D=1536, SwiGLU MLP). ``vit_tiny14`` is a toy preset for CPU tests.
"""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor

from tr2m.models.layers.image_ops import fit_size, normalize, resize_to
from tr2m.models.pretrained import FrozenMixin, load_or_fail, resolve_source
from tr2m.registry import MODELS

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

#: ``arch -> (hub id, hidden size, layers, heads, swiglu)``; sizes follow the hub configs.
DINOV2_PRESETS = {
    'vits14': ('facebook/dinov2-small', 384, 12, 6, False),
    'vitb14': ('facebook/dinov2-base', 768, 12, 12, False),
    'vitl14': ('facebook/dinov2-large', 1024, 24, 16, False),
    'vitg14': ('facebook/dinov2-giant', 1536, 40, 24, True),
    'vit_tiny14': (None, 64, 2, 2, False),  # test preset
}
#: The toy preset standing in for each preset in CPU tests.
DINOV2_TINY = 'vit_tiny14'


@MODELS.register_module()
class DINOv2Encoder(FrozenMixin, BaseModule):
    """Frozen DINOv2: images in [0, 1] -> final-layer patch tokens ``(B, D, H/14, W/14)``.

    Args:
        arch (str): a key of :data:`DINOV2_PRESETS`. Defaults to 'vitl14' (paper).
        pretrained (str, optional): hub id, local directory, or None for random weights;
            ``'default'`` is the preset's hub id. Defaults to 'default'.
        input_size (int, optional): shorter side of the encoder's input (rounded to 14); None
            keeps the input's size (rounded to 14). Defaults to None.
        frozen (bool): freeze and keep eval mode. Defaults to True.
    """

    patch_size = 14

    @staticmethod
    def tiny_arch(arch: str) -> str:
        """The toy preset of the same family, for CPU tests."""
        return DINOV2_TINY

    def __init__(self, arch: str = 'vitl14', pretrained: Optional[str] = 'default',
                 input_size: Optional[int] = None, frozen: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in DINOV2_PRESETS:
            raise KeyError(f'unknown DINOv2 arch {arch!r}; known: {sorted(DINOV2_PRESETS)}')
        from transformers import Dinov2Config, Dinov2Model

        hub, hidden, layers, heads, swiglu = DINOV2_PRESETS[arch]
        self.arch = arch
        self.input_size = input_size
        source = resolve_source(hub if pretrained == 'default' else pretrained)
        if source is None:
            self.weights_source = 'random'
            self.model = Dinov2Model(Dinov2Config(
                hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                use_swiglu_ffn=swiglu, patch_size=14, image_size=518))
        else:
            self.weights_source = source
            self.model = load_or_fail(f'DINOv2Encoder(arch={arch!r})', source,
                                      Dinov2Model.from_pretrained)
        self.out_channels = self.model.config.hidden_size
        self.frozen = frozen
        if frozen:
            self.freeze()

    def forward(self, images: Tensor, data_samples=None) -> Tensor:
        """Patch tokens ``(B, D, h, w)`` of images ``(B, 3, H, W)`` in [0, 1]; ``data_samples``
        is unused (the frozen-model call ``(images, data_samples) -> features``)."""
        h, w = images.shape[-2:]
        size = fit_size(h, w, self.patch_size, self.input_size)
        x = normalize(resize_to(images, size), IMAGENET_MEAN, IMAGENET_STD)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            tokens = self.model(pixel_values=x).last_hidden_state  # (B, 1 + R + N, D)
        gh, gw = size[0] // self.patch_size, size[1] // self.patch_size
        patches = tokens[:, -gh * gw:]  # drop the class (and register) tokens
        return patches.transpose(1, 2).reshape(x.shape[0], -1, gh, gw)  # (B, D, gh, gw)
