"""Frozen CLIP vision tower (ViT) through ``open_clip``: patch tokens as a feature map.

An alternative image encoder for TR2M (the paper uses DINOv2). The final block's patch tokens
after ``ln_post`` (width D = the tower's width, before the image projection) are returned as
``(B, D, h, w)``. Presets are open_clip ViT model names: ``ViT-L-14`` (D=1024, 224 px, 16 x 16
tokens), ``ViT-L-14-336``, ``ViT-B-16``, ``ViT-B-32`` (D=768); ``tiny`` is a toy tower for CPU
tests. ResNet CLIP towers have no patch tokens and are rejected.
"""
from types import SimpleNamespace
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor

from tr2m.models.encoders.clip_text import (
    CLIP_DEFAULT_TAGS,
    clip_model_config,
    clip_quick_gelu,
    clip_tags,
    load_clip_checkpoint,
    load_tower,
)
from tr2m.models.layers.image_ops import normalize, resize_to
from tr2m.models.pretrained import FrozenMixin, load_or_fail, resolve_source
from tr2m.registry import MODELS

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
#: Test preset: a ViT vision tower at toy width.
CLIP_VISION_TINY = dict(embed_dim=32, vision_cfg=dict(image_size=56, layers=2, width=32,
                                                      head_width=16, patch_size=14))


@MODELS.register_module()
class CLIPVisionEncoder(FrozenMixin, BaseModule):
    """Frozen CLIP ViT: images in [0, 1] -> last-block patch tokens ``(B, D, h, w)``.

    Images are resized to a square ``image_size`` (CLIP's position embeddings are learnt on a
    fixed grid) and normalised with CLIP's mean/std. ``out_channels`` is read from the tower.

    Args:
        arch (str): open_clip ViT model name or 'tiny'. Defaults to 'ViT-L-14'.
        pretrained (str, optional): open_clip tag, local checkpoint file (full CLIP or the
            vision tower's state dict), or None for random weights; 'default' is the arch's
            usual tag. Defaults to 'default'.
        image_size (int, optional): side of the square network input; the pretrained
            position embeddings are interpolated to it when loading. None keeps the arch's
            (224 for ViT-L-14). Defaults to None.
        quick_gelu (bool, optional): QuickGELU activations; None decides from the arch and tag.
            Defaults to None.
        frozen (bool): freeze and keep eval mode. Defaults to True.
    """

    def __init__(self, arch: str = 'ViT-L-14', pretrained: Optional[str] = 'default',
                 image_size: Optional[int] = None, quick_gelu: Optional[bool] = None,
                 frozen: bool = True, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        from open_clip.model import CLIPVisionCfg, _build_vision_tower, resize_pos_embed

        self.arch = arch
        who = f'CLIPVisionEncoder(arch={arch!r})'
        cfg = clip_model_config(arch, CLIP_VISION_TINY)
        vision_cfg = dict(cfg['vision_cfg'])
        if not isinstance(vision_cfg.get('layers'), int) or vision_cfg.get('timm_model_name'):
            raise ValueError(f'{who}: only open_clip ViT towers give patch tokens')
        if image_size is not None:
            vision_cfg['image_size'] = image_size
        self.image_size = int(vision_cfg['image_size'])
        self.patch_size = int(vision_cfg['patch_size'])
        if pretrained == 'default':
            pretrained = CLIP_DEFAULT_TAGS.get(arch)
        tags = clip_tags(arch)
        if quick_gelu is None:
            tag = pretrained if pretrained in tags else CLIP_DEFAULT_TAGS.get(arch)
            quick_gelu = clip_quick_gelu(arch, tag, cfg)
        self.model = _build_vision_tower(cfg['embed_dim'], CLIPVisionCfg(**vision_cfg),
                                         quick_gelu=quick_gelu)
        source = resolve_source(pretrained)
        if source is None:
            self.weights_source = 'random'
        else:
            self.weights_source = source
            state = load_or_fail(who, source, lambda s: load_clip_checkpoint(arch, s), tags)
            if not any(k.startswith('visual.') for k in state):  # a bare vision-tower file
                state = {'visual.' + k: v for k, v in state.items()}
            state = {k: v for k, v in state.items() if k.startswith('visual.')}
            resize_pos_embed(state, SimpleNamespace(visual=self.model))
            load_tower(self.model, {k[7:]: v for k, v in state.items()},
                       f'{who}: checkpoint {source!r} does not match the vision tower')
        self.out_channels = int(vision_cfg['width'])
        self.frozen = frozen
        if frozen:
            self.freeze()

    @staticmethod
    def tiny_arch(arch: str) -> str:
        """The toy preset of the same family, for CPU tests."""
        return 'tiny'

    def forward(self, images: Tensor, data_samples=None) -> Tensor:
        """Patch tokens ``(B, D, h, w)`` of images ``(B, 3, H, W)`` in [0, 1]; ``data_samples``
        is unused (the frozen-model call ``(images, data_samples) -> features``)."""
        size = (self.image_size, self.image_size)
        up = self.image_size ** 2 > images.shape[-2] * images.shape[-1]
        x = normalize(resize_to(images, size, 'bicubic' if up else 'bilinear'),
                      CLIP_MEAN, CLIP_STD)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            out = self.model.forward_intermediates(
                x, indices=1, normalize_intermediates=True, intermediates_only=True)
        return out['image_intermediates'][-1]  # (B, D, h, w)
