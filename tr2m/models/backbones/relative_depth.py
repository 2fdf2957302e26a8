"""Frozen relative-depth models from ``transformers`` (Depth Anything v1/v2, DPT, MiDaS 3.1).

Every preset returns relative **inverse** depth (disparity-like: larger is nearer), with an
unknown scale and shift, at the resolution of its input.
"""
import copy
from typing import List, Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor

from tr2m.models.layers.image_ops import fit_size, normalize, resize_to
from tr2m.models.pretrained import FrozenMixin, load_or_fail, resolve_source
from tr2m.registry import MODELS

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
HALF_MEAN, HALF_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)


def _dinov2(hidden: int, layers: int, heads: int, out_indices: List[int]) -> dict:
    return dict(model_type='dinov2', hidden_size=hidden, num_hidden_layers=layers,
                num_attention_heads=heads, patch_size=14, image_size=518,
                out_indices=out_indices, reshape_hidden_states=False, layerscale_value=1.0,
                mlp_ratio=4, use_swiglu_ffn=False)


def _depth_anything(hidden, layers, heads, out_indices, neck, fusion, **extra) -> dict:
    return dict(family='depth_anything',
                config=dict(backbone_config=_dinov2(hidden, layers, heads, out_indices),
                            reassemble_hidden_size=hidden, patch_size=14,
                            neck_hidden_sizes=neck, fusion_hidden_size=fusion,
                            depth_estimation_type='relative', **extra),
                multiple=14, short_side=518, square=None, mean=IMAGENET_MEAN, std=IMAGENET_STD)


#: Architecture presets: hub id, transformers config for random init, input-size rule
#: (``multiple`` / ``short_side`` / ``square``) and normalisation. Sizes follow the hub configs.
REL_DEPTH_PRESETS = {
    'da_v1_s': dict(hub='LiheYoung/depth-anything-small-hf',
                    **_depth_anything(384, 12, 6, [9, 10, 11, 12], [48, 96, 192, 384], 64)),
    'da_v1_b': dict(hub='LiheYoung/depth-anything-base-hf',
                    **_depth_anything(768, 12, 12, [9, 10, 11, 12], [96, 192, 384, 768], 128)),
    'da_v1_l': dict(hub='LiheYoung/depth-anything-large-hf',
                    **_depth_anything(1024, 24, 16, [21, 22, 23, 24], [256, 512, 1024, 1024],
                                      256)),
    'da_v2_s': dict(hub='depth-anything/Depth-Anything-V2-Small-hf',
                    **_depth_anything(384, 12, 6, [3, 6, 9, 12], [48, 96, 192, 384], 64)),
    'da_v2_b': dict(hub='depth-anything/Depth-Anything-V2-Base-hf',
                    **_depth_anything(768, 12, 12, [3, 6, 9, 12], [96, 192, 384, 768], 128)),
    'da_v2_l': dict(hub='depth-anything/Depth-Anything-V2-Large-hf',
                    **_depth_anything(1024, 24, 16, [5, 12, 18, 24], [256, 512, 1024, 1024],
                                      256)),
    # Test preset: the Depth Anything architecture at toy width, for CPU tests.
    'da_tiny': dict(hub=None, **_depth_anything(32, 4, 2, [1, 2, 3, 4], [8, 16, 32, 32], 16)),
}


@MODELS.register_module()
class TransformersRelativeDepth(FrozenMixin, BaseModule):
    """A frozen relative-depth model from ``transformers``, selected by preset name.

    Args:
        arch (str): a key of :data:`REL_DEPTH_PRESETS`. Defaults to 'da_v1_s'.
        pretrained (str, optional): hub id, local directory (``save_pretrained`` layout) or
            None for random weights. ``'default'`` means the preset's hub id.
            Defaults to 'default'.
        input_size (int, optional): shorter side the image is resized to before the model
            (rounded to the preset's multiple); None keeps the input size (rounded).
            Defaults to None.
        frozen (bool): freeze the weights and keep eval mode. Defaults to True.
    """

    def __init__(self, arch: str = 'da_v1_s', pretrained: Optional[str] = 'default',
                 input_size: Optional[int] = None, frozen: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in REL_DEPTH_PRESETS:
            raise KeyError(f'unknown relative-depth arch {arch!r}; '
                           f'known: {sorted(REL_DEPTH_PRESETS)}')
        self.arch = arch
        self.preset = copy.deepcopy(REL_DEPTH_PRESETS[arch])
        if pretrained == 'default':
            pretrained = self.preset['hub']
        self.input_size = input_size
        self.model = self._build(pretrained)
        self.frozen = frozen
        if frozen:
            self.freeze()

    def _build(self, pretrained: Optional[str]):
        from transformers import AutoConfig, AutoModelForDepthEstimation

        source = resolve_source(pretrained)
        if source is None:
            cfg = dict(self.preset['config'])
            family = self.preset['family']
            config = AutoConfig.for_model(family, **cfg)
            self.weights_source = 'random'
            return AutoModelForDepthEstimation.from_config(config)
        self.weights_source = source
        return load_or_fail(f'TransformersRelativeDepth(arch={self.arch!r})', source,
                            AutoModelForDepthEstimation.from_pretrained)

    def forward(self, images: Tensor, data_samples=None) -> Tensor:
        """Relative inverse depth ``(B, 1, H, W)`` of ``(B, 3, H, W)`` images in [0, 1]."""
        h, w = images.shape[-2:]
        p = self.preset
        size = fit_size(h, w, p['multiple'], self.input_size, p['square'])
        x = normalize(resize_to(images, size, 'bicubic' if size[0] > h else 'bilinear'),
                      p['mean'], p['std'])
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            rel = self.model(pixel_values=x).predicted_depth  # (B, h', w')
        return resize_to(rel[:, None].float(), (h, w))
