"""Frozen relative-depth models from ``transformers`` (Depth Anything v1/v2, DPT, MiDaS 3.1).

Every preset returns relative **inverse** depth (disparity-like: larger is nearer, affine-
invariant: unknown scale and shift), at the resolution of its input.

Presets (:data:`REL_DEPTH_PRESETS`; parameter counts of the random-init build, which match the
hub checkpoints):

====================  =============================================  ===============  ======
arch                  hub id                                         network input    params
====================  =============================================  ===============  ======
``da_v1_s``           ``LiheYoung/depth-anything-small-hf``          multiple of 14   24.8M
``da_v1_b``           ``LiheYoung/depth-anything-base-hf``           multiple of 14   97.5M
``da_v1_l``           ``LiheYoung/depth-anything-large-hf``          multiple of 14   335.3M
``da_v2_s``           ``depth-anything/Depth-Anything-V2-Small-hf``  multiple of 14   24.8M
``da_v2_b``           ``depth-anything/Depth-Anything-V2-Base-hf``   multiple of 14   97.5M
``da_v2_l``           ``depth-anything/Depth-Anything-V2-Large-hf``  multiple of 14   335.3M
``dpt_hybrid``        ``Intel/dpt-hybrid-midas`` (MiDaS 3.0)         384 x 384 fixed  122.4M
``dpt_large``         ``Intel/dpt-large`` (MiDaS 3.0)                square, 384      343.0M
``midas_swin2_l384``  ``Intel/dpt-swinv2-large-384`` (MiDaS 3.1)     square, 384      211.9M
``midas_beit_l512``   ``Intel/dpt-beit-large-512`` (MiDaS 3.1)       multiple of 32   344.0M
====================  =============================================  ===============  ======

Depth Anything presets normalise with the ImageNet mean/std, the DPT / MiDaS ones with
mean = std = 0.5 (their image processors). The DPT-Hybrid embedding checks for exactly its
training size and the DPT-Large reassemble stage reshapes tokens to a square grid, so both run
on square inputs in ``transformers``; MiDaS 3.1 Swin2-L was trained on square 384 inputs
(``keep_aspect_ratio=False`` in MiDaS). The network's output is resized back to the input.

The Depth Anything presets also give their encoder's tokens
(:meth:`TransformersRelativeDepth.forward_with_tokens`): their backbone is a DINOv2 (ViT-S for
``da_v1_s``, ViT-L for ``da_v1_l``), and its final layer-normed patch tokens are what
``DINOv2Encoder`` returns for a DINOv2 of that size, from the same forward that gives the depth
(TR2M's ``image_tokens='relative_depth'``: no second ViT).
"""
import copy
from typing import List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor

from tr2m.models.layers.image_ops import fit_size, normalize, resize_to
from tr2m.models.pretrained import FrozenMixin, load_or_fail, resolve_source
from tr2m.registry import MODELS
from tr2m.structures import NOTES_KEY, RSA_REL_INPUT_SIZES, notes_of

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
HALF_MEAN, HALF_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)


def _dinov2(hidden: int, layers: int, heads: int, out_indices) -> dict:
    return dict(model_type='dinov2', hidden_size=hidden, num_hidden_layers=layers,
                num_attention_heads=heads, patch_size=14, image_size=518,
                out_indices=list(out_indices), reshape_hidden_states=False,
                layerscale_value=1.0, mlp_ratio=4, use_swiglu_ffn=False)


def _depth_anything(hub, hidden, layers, heads, out_indices, neck, fusion, tiny='da_tiny'):
    """A Depth Anything preset: DINOv2 backbone + DPT head (the hub configs' sizes)."""
    return dict(hub=hub, family='depth_anything',
                config=dict(backbone_config=_dinov2(hidden, layers, heads, out_indices),
                            reassemble_hidden_size=hidden, patch_size=14,
                            reassemble_factors=[4, 2, 1, 0.5], neck_hidden_sizes=list(neck),
                            fusion_hidden_size=fusion, head_hidden_size=32,
                            depth_estimation_type='relative'),
                multiple=14, native=518, square=None, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                output='relative_inverse_depth', tiny=tiny)


def _dpt(hub, config, multiple, native, square, fixed=False, tiny=None):
    """A DPT / MiDaS preset (``DPTConfig``; ``backbone_config`` for BiT, Swin-v2 or BEiT)."""
    return dict(hub=hub, family='dpt', config=config, multiple=multiple, native=native,
                square=square, fixed=fixed, mean=HALF_MEAN, std=HALF_STD,
                output='relative_inverse_depth', tiny=tiny)


_SWIN_STAGES = ['stage1', 'stage2', 'stage3', 'stage4']

#: Architecture presets: hub id, ``transformers`` config for random init, input-size rule
#: (``multiple``: sides are rounded to it; ``square``: the network input is square, that side by
#: default; ``fixed``: that exact size only; ``native``: the hub image processor's short side,
#: used with ``input_size='native'``), normalisation, what the model outputs (always relative
#: inverse depth, affine-invariant) and ``tiny``: the toy preset of the same family used by CPU
#: tests. Sizes follow the hub configs (see the module docstring).
REL_DEPTH_PRESETS = {
    # Depth Anything v1: the last four DINOv2 blocks feed the DPT head.
    'da_v1_s': _depth_anything('LiheYoung/depth-anything-small-hf', 384, 12, 6,
                               [9, 10, 11, 12], [48, 96, 192, 384], 64),
    'da_v1_b': _depth_anything('LiheYoung/depth-anything-base-hf', 768, 12, 12,
                               [9, 10, 11, 12], [96, 192, 384, 768], 128),
    'da_v1_l': _depth_anything('LiheYoung/depth-anything-large-hf', 1024, 24, 16,
                               [21, 22, 23, 24], [256, 512, 1024, 1024], 256),
    # Depth Anything v2: evenly spaced blocks (DA-v2 intermediate_layer_idx + 1).
    'da_v2_s': _depth_anything('depth-anything/Depth-Anything-V2-Small-hf', 384, 12, 6,
                               [3, 6, 9, 12], [48, 96, 192, 384], 64),
    'da_v2_b': _depth_anything('depth-anything/Depth-Anything-V2-Base-hf', 768, 12, 12,
                               [3, 6, 9, 12], [96, 192, 384, 768], 128),
    'da_v2_l': _depth_anything('depth-anything/Depth-Anything-V2-Large-hf', 1024, 24, 16,
                               [5, 12, 18, 24], [256, 512, 1024, 1024], 256),
    # MiDaS 3.0 DPT-Hybrid: ViT-B/16 on a 3-stage BiT ResNet-50 (stride 16).
    'dpt_hybrid': _dpt('Intel/dpt-hybrid-midas', dict(
        is_hybrid=True, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, image_size=384, patch_size=16,
        backbone_out_indices=[2, 5, 8, 11], readout_type='project',
        reassemble_factors=[1, 1, 1, 0.5], neck_hidden_sizes=[256, 512, 768, 768],
        fusion_hidden_size=256, backbone_featmap_shape=[1, 1024, 24, 24],
        neck_ignore_stages=[0, 1],
        backbone_config=dict(model_type='bit', global_padding='same', layer_type='bottleneck',
                             depths=[3, 4, 9], out_features=['stage1', 'stage2', 'stage3'],
                             embedding_dynamic_padding=True)),
        multiple=16, native=384, square=384, fixed=True, tiny='dpt_hybrid_tiny'),
    # MiDaS 3.0 DPT-Large: ViT-L/16.
    'dpt_large': _dpt('Intel/dpt-large', dict(
        hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
        intermediate_size=4096, image_size=384, patch_size=16,
        backbone_out_indices=[5, 11, 17, 23], readout_type='project',
        reassemble_factors=[4, 2, 1, 0.5], neck_hidden_sizes=[256, 512, 1024, 1024],
        fusion_hidden_size=256),
        multiple=16, native=384, square=384, tiny='dpt_tiny'),
    # MiDaS 3.1 Swin2-L 384: hierarchical backbone, no reassemble stage.
    'midas_swin2_l384': _dpt('Intel/dpt-swinv2-large-384', dict(
        neck_hidden_sizes=[192, 384, 768, 1536], fusion_hidden_size=256,
        backbone_config=dict(model_type='swinv2', image_size=384, embed_dim=192,
                             depths=[2, 2, 18, 2], num_heads=[6, 12, 24, 48], window_size=24,
                             pretrained_window_sizes=[12, 12, 12, 6],
                             out_features=_SWIN_STAGES)),
        multiple=32, native=384, square=384, tiny='dpt_swinv2_tiny'),
    # MiDaS 3.1 BEiT-L 512: BEiT-L/16 with relative position bias, blocks 6/12/18/24.
    'midas_beit_l512': _dpt('Intel/dpt-beit-large-512', dict(
        neck_hidden_sizes=[256, 512, 1024, 1024], fusion_hidden_size=256,
        backbone_config=dict(model_type='beit', image_size=512, num_hidden_layers=24,
                             hidden_size=1024, intermediate_size=4096, num_attention_heads=16,
                             use_relative_position_bias=True, reshape_hidden_states=False,
                             out_features=['stage6', 'stage12', 'stage18', 'stage24'])),
        multiple=32, native=512, square=None, tiny='dpt_beit_tiny'),
    # ---- test presets: the same architectures at toy width, for CPU tests ----------------
    'da_tiny': _depth_anything(None, 32, 4, 2, [1, 2, 3, 4], [8, 16, 32, 32], 16),
    'dpt_tiny': _dpt(None, dict(
        hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
        image_size=64, patch_size=16, backbone_out_indices=[0, 1, 2, 3],
        reassemble_factors=[4, 2, 1, 0.5], neck_hidden_sizes=[8, 16, 32, 32],
        fusion_hidden_size=16),
        multiple=16, native=64, square=64, tiny='dpt_tiny'),
    'dpt_hybrid_tiny': _dpt(None, dict(
        is_hybrid=True, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
        intermediate_size=64, image_size=64, patch_size=16, backbone_out_indices=[0, 1, 2, 3],
        reassemble_factors=[1, 1, 1, 0.5], neck_hidden_sizes=[16, 32, 32, 32],
        fusion_hidden_size=16, backbone_featmap_shape=[1, 64, 4, 4],
        backbone_config=dict(model_type='bit', global_padding='same', layer_type='bottleneck',
                             depths=[1, 1, 1], hidden_sizes=[16, 32, 64], embedding_size=8,
                             num_groups=4, out_features=['stage1', 'stage2', 'stage3'],
                             embedding_dynamic_padding=True)),
        multiple=16, native=64, square=64, fixed=True, tiny='dpt_hybrid_tiny'),
    'dpt_swinv2_tiny': _dpt(None, dict(
        neck_hidden_sizes=[8, 16, 32, 64], fusion_hidden_size=16,
        backbone_config=dict(model_type='swinv2', image_size=64, embed_dim=8,
                             depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=4,
                             pretrained_window_sizes=[0, 0, 0, 0], out_features=_SWIN_STAGES)),
        multiple=32, native=64, square=64, tiny='dpt_swinv2_tiny'),
    'dpt_beit_tiny': _dpt(None, dict(
        neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16,
        backbone_config=dict(model_type='beit', image_size=64, num_hidden_layers=4,
                             hidden_size=32, intermediate_size=64, num_attention_heads=2,
                             use_relative_position_bias=True, reshape_hidden_states=False,
                             out_features=_SWIN_STAGES)),
        multiple=32, native=64, square=None, tiny='dpt_beit_tiny'),
}


def build_relative_depth_config(arch: str):
    """The ``transformers`` config of a preset (what random init builds)."""
    from transformers import AutoConfig

    preset = REL_DEPTH_PRESETS[arch]
    return AutoConfig.for_model(preset['family'], **copy.deepcopy(preset['config']))


@MODELS.register_module()
class TransformersRelativeDepth(FrozenMixin, BaseModule):
    """A frozen relative-depth model from ``transformers``, selected by preset name.

    Images in [0, 1] are resized to the preset's network input (see ``input_size``),
    normalised with the preset's mean/std, and the predicted relative inverse depth is resized
    back to the input resolution.

    Args:
        arch (str): a key of :data:`REL_DEPTH_PRESETS`. Defaults to 'da_v1_s'.
        pretrained (str, optional): hub id, local directory (``save_pretrained`` layout) or
            None for random weights. ``'default'`` means the preset's hub id.
            Defaults to 'default'.
        input_size (int | str | tuple | dict, optional): the network input's shorter side
            (square presets: its side), rounded to the preset's multiple; ``'native'`` uses
            the hub image processor's size (518 for Depth Anything, 384/512 for DPT/MiDaS);
            None keeps the input's size (rounded; square presets use their native side).
            A fixed ``(H, W)`` (multiples of the preset's multiple) runs every image at that
            size; a dict ``{dataset_name: (H, W)}`` does so per dataset (others by the None
            rule); ``'rsa'`` is that dict for RSA's release
            (:data:`~tr2m.structures.RSA_REL_INPUT_SIZES`: NYUv2 434 x 560, KITTI 350 x 1204).
            With a fixed size, each sample's run notes record it (``rel_input_size``).
            Presets with a fixed size (DPT-Hybrid) accept only None or 'native'.
            Defaults to None.
        frozen (bool): freeze the weights and keep eval mode. Defaults to True.
    """

    def __init__(self, arch: str = 'da_v1_s', pretrained: Optional[str] = 'default',
                 input_size: Union[int, str, tuple, dict, None] = None, frozen: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in REL_DEPTH_PRESETS:
            raise KeyError(f'unknown relative-depth arch {arch!r}; '
                           f'known: {sorted(REL_DEPTH_PRESETS)}')
        self.arch = arch
        self.preset = copy.deepcopy(REL_DEPTH_PRESETS[arch])
        if input_size == 'rsa':
            input_size = dict(RSA_REL_INPUT_SIZES)
        if isinstance(input_size, str) and input_size != 'native':
            raise ValueError(f"input_size must be an int, 'native', 'rsa', (H, W), a dict "
                             f"or None, got {input_size!r}")
        if (self.preset.get('fixed') or self.preset['square']) and isinstance(
                input_size, (tuple, list, dict)):
            raise ValueError(f'{arch} runs on square inputs; a fixed (H, W) input_size is '
                             f'for the non-square presets, got {input_size!r}')
        if isinstance(input_size, (tuple, list)):
            input_size = self._fixed_size(input_size, arch, 'input_size')
        if isinstance(input_size, dict):
            input_size = {str(k): self._fixed_size(v, arch, f'input_size[{k!r}]')
                          for k, v in input_size.items()}
        if self.preset.get('fixed') and input_size not in (None, 'native'):
            raise ValueError(f'{arch} runs at {self.preset["square"]}x{self.preset["square"]} '
                             f'only (transformers checks the size); got input_size={input_size}')
        if pretrained == 'default':
            pretrained = self.preset['hub']
        self.input_size = input_size
        self.model = self._build(pretrained)
        self.frozen = frozen
        if frozen:
            self.freeze()

    @staticmethod
    def _fixed_size(size, arch: str, owner: str) -> Tuple[int, int]:
        multiple = REL_DEPTH_PRESETS[arch]['multiple']
        if (not isinstance(size, (tuple, list)) or len(size) != 2
                or not all(isinstance(v, int) and v > 0 and v % multiple == 0 for v in size)):
            raise ValueError(f'{owner} must be (H, W), positive multiples of {multiple} for '
                             f'{arch}, got {size!r}')
        return int(size[0]), int(size[1])

    @staticmethod
    def tiny_arch(arch: str) -> str:
        """The toy preset of the same family, for CPU tests."""
        return REL_DEPTH_PRESETS[arch]['tiny']

    def _build(self, pretrained: Optional[str]):
        from transformers import AutoModelForDepthEstimation

        source = resolve_source(pretrained)
        if source is None:
            self.weights_source = 'random'
            return AutoModelForDepthEstimation.from_config(build_relative_depth_config(self.arch))
        self.weights_source = source
        return load_or_fail(f'TransformersRelativeDepth(arch={self.arch!r})', source,
                            AutoModelForDepthEstimation.from_pretrained)

    def fixed_size(self, sample=None) -> Optional[Tuple[int, int]]:
        """The fixed ``(H, W)`` a sample runs at (``input_size`` a tuple, or a dict naming its
        ``dataset_name``), else None."""
        if isinstance(self.input_size, tuple):
            return self.input_size
        if isinstance(self.input_size, dict) and sample is not None:
            meta = sample.metainfo if hasattr(sample, 'metainfo') else sample
            return self.input_size.get(str(meta.get('dataset_name')))
        return None

    def network_size(self, h: int, w: int, sample=None) -> Tuple[int, int]:
        """The ``(height, width)`` the network sees for an ``h x w`` image (``sample``: its
        data sample, for a per-dataset ``input_size``)."""
        fixed = self.fixed_size(sample)
        if fixed is not None:
            return fixed
        p = self.preset
        short = p['native'] if self.input_size == 'native' else self.input_size
        if isinstance(short, dict):
            short = None  # a dataset the dict does not name: the input's size
        if p['square']:
            side = p['square'] if short is None else short
            side = max(p['multiple'], int(round(side / p['multiple'])) * p['multiple'])
            return side, side
        return fit_size(h, w, p['multiple'], short)

    @property
    def token_channels(self) -> Optional[int]:
        """Width of the encoder tokens :meth:`forward_with_tokens` gives (Depth Anything
        presets; None for the others)."""
        if self.preset['family'] != 'depth_anything':
            return None
        return int(self.model.config.backbone_config.hidden_size)

    def _sizes(self, images: Tensor, data_samples=None) -> List[Tuple[int, int]]:
        """The network size of each image (per sample for a per-dataset ``input_size``); a
        fixed size is recorded in the sample's run notes (``rel_input_size``)."""
        h, w = images.shape[-2:]
        samples = list(data_samples) if data_samples is not None else [None] * len(images)
        if len(samples) != len(images):
            samples = [None] * len(images)
        sizes = [self.network_size(h, w, s) for s in samples]
        for sample, size in zip(samples, sizes):
            if hasattr(sample, 'set_metainfo') and self.fixed_size(sample) is not None:
                sample.set_metainfo({NOTES_KEY: notes_of(sample).replace(
                    rel_input_size=f'{size[0]}x{size[1]}')})
        return sizes

    def _network_input(self, images: Tensor, size: Optional[Tuple[int, int]] = None) -> Tensor:
        """The images resized to ``size`` (default :meth:`network_size`) and normalised."""
        h, w = images.shape[-2:]
        p = self.preset
        size = size or self.network_size(h, w)
        up = size[0] * size[1] > h * w
        return normalize(resize_to(images, size, 'bicubic' if up else 'bilinear'),
                         p['mean'], p['std'])

    def _run_at(self, images: Tensor, size: Tuple[int, int]) -> Tensor:
        x = self._network_input(images, size)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            rel = self.model(pixel_values=x).predicted_depth  # (B, h', w')
        return resize_to(rel[:, None].float(), tuple(images.shape[-2:]))

    def forward(self, images: Tensor, data_samples=None) -> Tensor:
        """Relative inverse depth ``(B, 1, H, W)`` of ``(B, 3, H, W)`` images in [0, 1]."""
        sizes = self._sizes(images, data_samples)
        if len(set(sizes)) == 1:
            return self._run_at(images, sizes[0])
        # a per-dataset size and a batch of several datasets: one pass per size
        out = images.new_empty(images.shape[0], 1, *images.shape[-2:])
        for size in dict.fromkeys(sizes):
            idx = [i for i, s in enumerate(sizes) if s == size]
            out[idx] = self._run_at(images[idx], size).to(out)
        return out

    def forward_with_tokens(self, images: Tensor, data_samples=None) -> Tuple[Tensor, Tensor]:
        """Relative inverse depth ``(B, 1, H, W)`` and the encoder's final patch tokens
        ``(B, D, h', w')`` (layer-normed, class token dropped; ``h' = H'/14`` of the network
        input), from one forward. Depth Anything presets only."""
        if self.token_channels is None:
            raise ValueError(f'{self.arch}: only the Depth Anything presets (a DINOv2 encoder) '
                             'give image tokens; use a separate image_encoder')
        sizes = set(self._sizes(images, data_samples))
        if len(sizes) != 1:  # the neck needs one token grid per batch
            raise ValueError(f'{self.arch}: shared tokens need one network input size per batch, '
                             f'got {sorted(sizes)} (a per-dataset input_size over a mixed batch)')
        x = self._network_input(images, sizes.pop())
        captured = []

        def keep_last(module, args, output):
            captured.append(output.feature_maps[-1])  # (B, 1 + N, D), layer-normed

        handle = self.model.backbone.register_forward_hook(keep_last)
        try:
            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
                rel = self.model(pixel_values=x).predicted_depth  # (B, h', w')
        finally:
            handle.remove()
        patch = int(self.model.config.patch_size)
        gh, gw = x.shape[-2] // patch, x.shape[-1] // patch
        tokens = captured[-1][:, -gh * gw:]  # patch tokens
        tokens = tokens.transpose(1, 2).reshape(x.shape[0], -1, gh, gw)  # (B, D, h', w')
        return resize_to(rel[:, None].float(), tuple(images.shape[-2:])), tokens
