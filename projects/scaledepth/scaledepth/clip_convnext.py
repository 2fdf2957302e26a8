"""CLIP ConvNeXt image tower as a multi-scale backbone (ScaleDepth's image encoder).

ScaleDepth's released model fine-tunes the image tower of open_clip's ``convnext_large_d_320``
(``laion2b_s29b_b131k_ft_soup`` weights) and feeds the outputs of its four ConvNeXt stages
(strides 4, 8, 16, 32; 192, 384, 768, 1536 channels) to the pixel decoder. The same features
serve the bin queries (relative depth) and the scale queries (scene scale): there is one CLIP
image encoder, not two. Only the stem and the four stages are kept: CLIP's pooling head and
projection are not used.

The trunk is built with timm (open_clip builds it the same way), so ``arch`` names a preset of
:data:`CLIP_CONVNEXT_ARCHS`: the timm model, its open_clip name and default pretrained tag, and
the stochastic-depth rate of open_clip's config.
"""
from typing import List, Optional

from mmengine.model import BaseModule
from torch import Tensor

from tr2m.models.encoders.clip_text import clip_tags, load_clip_checkpoint, load_tower
from tr2m.models.encoders.clip_vision import CLIP_MEAN, CLIP_STD
from tr2m.models.layers.image_ops import normalize
from tr2m.models.pretrained import load_or_fail, resolve_source
from tr2m.registry import MODELS

#: ``arch -> timm model (+ kwargs), open_clip model name, default pretrained tag, drop-path``.
CLIP_CONVNEXT_ARCHS = {
    # ScaleDepth's backbone (196.23M parameters in the stem and the stages).
    'convnext_large_d_320': dict(timm='convnext_large', clip='convnext_large_d_320',
                                 tag='laion2b_s29b_b131k_ft_soup', drop_path_rate=0.1),
    'convnext_base_w_320': dict(timm='convnext_base', clip='convnext_base_w_320',
                                tag='laion_aesthetic_s13b_b82k', drop_path_rate=0.1),
    # Test / demo preset: the ConvNeXt layout at toy width (0.23M), random weights only.
    'tiny': dict(timm='convnext_atto', kwargs=dict(depths=(1, 1, 1, 1), dims=(16, 32, 64, 128)),
                 clip=None, tag=None, drop_path_rate=0.0),
}


def convnext_state_dict(state: dict) -> dict:
    """The stem/stage entries of a full open_clip checkpoint (``visual.trunk.*``), of a vision
    tower (``trunk.*``) or of a bare trunk (``stem.*``, ``stages.*``), without the prefix."""
    for prefix in ('visual.trunk.', 'trunk.', ''):
        picked = {k[len(prefix):]: v for k, v in state.items()
                  if k.startswith((prefix + 'stem.', prefix + 'stages.'))}
        if picked:
            return picked
    return {}


@MODELS.register_module()
class CLIPConvNeXtBackbone(BaseModule):
    """Trainable CLIP ConvNeXt tower: images in [0, 1] -> the four stage outputs.

    Images are normalised with CLIP's mean/std and keep their size (ConvNeXt is fully
    convolutional); an input of H x W gives maps of about H/4 ... H/32.

    Args:
        arch (str): a key of :data:`CLIP_CONVNEXT_ARCHS`. Defaults to 'convnext_large_d_320'.
        pretrained (str, optional): an open_clip pretrained tag of the arch (downloaded on first
            use), a local checkpoint file (a full CLIP, its vision tower, or this module's own
            ``state_dict()``), or None for random weights; 'default' is the arch's tag.
            ``TR2M_RANDOM_INIT=1`` forces random weights. Defaults to 'default'.
        drop_path_rate (float, optional): stochastic depth of the stages; None takes the arch's
            (0.1, open_clip's value, active while training). Defaults to None.
        frozen_stages (int): the stem and the first ``frozen_stages`` stages are frozen (0 =
            fine-tune everything, as released). Defaults to 0.
    """

    def __init__(self, arch: str = 'convnext_large_d_320', pretrained: Optional[str] = 'default',
                 drop_path_rate: Optional[float] = None, frozen_stages: int = 0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        import timm

        if arch not in CLIP_CONVNEXT_ARCHS:
            raise KeyError(f'unknown CLIP ConvNeXt arch {arch!r}; known: '
                           f'{sorted(CLIP_CONVNEXT_ARCHS)}')
        spec = CLIP_CONVNEXT_ARCHS[arch]
        self.arch = arch
        who = f'CLIPConvNeXtBackbone(arch={arch!r})'
        rate = spec['drop_path_rate'] if drop_path_rate is None else drop_path_rate
        trunk = timm.create_model(spec['timm'], pretrained=False, num_classes=0, global_pool='',
                                  drop_path_rate=rate, **spec.get('kwargs', {}))
        self.stem = trunk.stem
        self.stages = trunk.stages
        self.out_channels: List[int] = [int(i['num_chs']) for i in trunk.feature_info]
        self.strides: List[int] = [int(i['reduction']) for i in trunk.feature_info]
        if pretrained == 'default':
            pretrained = spec['tag']
        source = resolve_source(pretrained)
        # Not ``weights_source``: that attribute marks frozen parts that checkpoints leave out,
        # and this backbone trains.
        self.pretrained_source = source or 'random'
        if source is not None:
            tags = clip_tags(spec['clip']) if spec['clip'] else []
            state = load_or_fail(who, source,
                                 lambda s: load_clip_checkpoint(spec['clip'] or 'tiny', s), tags)
            load_tower(self, convnext_state_dict(state),
                       f'{who}: checkpoint {source!r} does not match the ConvNeXt trunk')
        self.frozen_stages = frozen_stages
        self._freeze()

    @staticmethod
    def tiny_arch(arch: str) -> str:
        """The toy preset of the same family, for CPU tests."""
        return 'tiny'

    def _freeze(self) -> None:
        parts = [self.stem, *self.stages[:self.frozen_stages]] if self.frozen_stages else []
        for part in parts:
            part.eval()
            for p in part.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze()
        return self

    def forward(self, images: Tensor) -> List[Tensor]:
        """``(B, 3, H, W)`` in [0, 1] -> ``[(B, C_i, H / s_i, W / s_i)]`` for the 4 stages."""
        x = self.stem(normalize(images, CLIP_MEAN, CLIP_STD))
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs


__all__ = ['CLIPConvNeXtBackbone', 'CLIP_CONVNEXT_ARCHS', 'convnext_state_dict']
