"""``NeWCRFsSwin``: a Swin Transformer built and loaded through timm, with the four stage
outputs that NeWCRFs decodes, each behind its own LayerNorm (as the Swin segmentation backbone
that NeWCRFs uses has: ``norm0`` ... ``norm3``, new layers, not the classifier's final norm).

Presets (timm model, default weights tag, timm overrides); parameter counts without the
classifier and the final norm, plus the four output norms:

| arch | timm model | weights | params |
| --- | --- | --- | --- |
| ``swin_l_w7`` | ``swin_large_patch4_window7_224`` | ``ms_in22k`` | 195.0M |
| ``swin_l_w12`` | ``swin_large_patch4_window12_384`` | ``ms_in22k`` | 195.2M |
| ``swin_b_w7`` | ``swin_base_patch4_window7_224`` | ``ms_in22k`` | 86.7M |
| ``swin_t_w7`` | ``swin_tiny_patch4_window7_224`` | ``ms_in1k`` | 27.5M |
| ``swin_toy`` | same, ``embed_dim=16``, 2 blocks per stage | none | 0.58M |
| ``swin_mini`` | same, ``embed_dim=32``, 2 blocks per stage | none | 2.28M |

The released NeWCRFs (``--encoder large07``) is Swin-L with 7x7 windows, initialised from
Microsoft's ``swin_large_patch4_window7_224_22k.pth``: timm's ``swin_large_patch4_window7_224
.ms_in22k`` holds the same weights (``swin_l_w7``, the default). The original ``.pth`` file loads
directly too (timm's filter converts its layout).

``forward_mode='released'`` (default) runs timm's modules with the pad-then-roll windows of
the Swin segmentation backbone (:mod:`.window_ops`); ``'timm'`` calls timm's own
``forward_intermediates``, which rolls before padding. The two agree exactly when every stage
is a multiple of the window (e.g. 224 x 224 for 7x7 windows) and differ otherwise (NYUv2's
480 x 640: every stage of Swin-L is padded). timm is built with ``always_partition=True`` so a
stage smaller than its window keeps the window and the shift, as the segmentation backbone does.
"""
import os
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tr2m.models.layers.image_ops import normalize
from tr2m.models.pretrained import load_or_fail, resolve_source
from tr2m.registry import MODELS
from tr2m.utils.errors import CheckpointError

from .window_ops import windowed

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

#: ``arch -> (timm model, default pretrained tag or None, timm keyword overrides)``.
SWIN_PRESETS = {
    'swin_l_w7': ('swin_large_patch4_window7_224', 'ms_in22k', {}),  # released NeWCRFs
    'swin_l_w12': ('swin_large_patch4_window12_384', 'ms_in22k', {}),
    'swin_b_w7': ('swin_base_patch4_window7_224', 'ms_in22k', {}),
    'swin_t_w7': ('swin_tiny_patch4_window7_224', 'ms_in1k', {}),
    # toy presets (random weights): CPU tests and the offline demo
    'swin_toy': ('swin_tiny_patch4_window7_224', None,
                 dict(embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4))),
    'swin_mini': ('swin_tiny_patch4_window7_224', None,
                  dict(embed_dim=32, depths=(2, 2, 2, 2), num_heads=(1, 2, 4, 8))),
}
FORWARD_MODES = ('released', 'timm')
WEIGHT_FILES = ('.pth', '.pt', '.bin', '.safetensors', '.ckpt')
#: Weight files looked for, in order, in a local directory (a hub download of a timm model).
DIR_FILES = ('model.safetensors', 'pytorch_model.bin')


def timm_hub_id(name: str, tag: str) -> str:
    """The Hugging Face repository of timm's ``name.tag`` weights (``timm/name.tag``)."""
    import timm

    try:
        cfg = timm.models.get_pretrained_cfg(f'{name}.{tag}')
    except (RuntimeError, KeyError, ValueError):
        cfg = None
    return getattr(cfg, 'hf_hub_id', None) or f'timm/{name}.{tag}'


def weights_file(source: str, component: str) -> str:
    """``source`` if it is a file, else the first of :data:`DIR_FILES` in the directory."""
    if os.path.isdir(source):
        for candidate in DIR_FILES:
            if os.path.isfile(os.path.join(source, candidate)):
                return os.path.join(source, candidate)
        raise CheckpointError(f'{component}: no {" or ".join(DIR_FILES)} in {source}')
    if not os.path.isfile(source):
        raise CheckpointError(f'{component}: pretrained file not found: {source}')
    return source


def read_state_dict(path: str) -> dict:
    """A state dict from a ``.safetensors`` or a torch file (``weights_only=True``), unwrapped
    from a ``'model'`` / ``'state_dict'`` entry (Microsoft's and mmengine's layouts)."""
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file

        state = load_file(path)
    else:
        state = torch.load(path, map_location='cpu', weights_only=True)
    for key in ('model', 'state_dict'):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f'{path}: no state dict inside')
    return state


@MODELS.register_module()
class NeWCRFsSwin(nn.Module):
    """Images in [0, 1] -> four Swin stage features ``(B, C_i, Hp / 2^(i+2), Wp / 2^(i+2))``.

    The images are normalised with the ImageNet mean and std and zero-padded at the bottom and
    right (after normalisation, as the released patch embedding pads) to ``Hp x Wp``, multiples
    of ``size_divisor``; callers crop their output back to ``H x W``. Every released input size
    (480 x 640, 352 x 1120, 352 x 1216) is a multiple of 32 already.

    Args:
        arch (str): a key of :data:`SWIN_PRESETS`. Defaults to 'swin_l_w7' (released).
        pretrained (str, optional): ``'default'`` (the preset's timm weights, e.g.
            ``swin_large_patch4_window7_224.ms_in22k``), another timm tag
            (``'ms_in22k_ft_in1k'``), a Hugging Face hub id (``'timm/...'``), a local file
            (``.pth`` / ``.safetensors``; Microsoft's original Swin checkpoints load as they
            are) or directory (a hub download holding ``model.safetensors``), or None for
            random weights. Defaults to 'default'.
        drop_path_rate (float): stochastic depth at the last block. Defaults to 0.3
            (released).
        forward_mode (str): ``'released'`` (pad, then roll) or ``'timm'``. Defaults to
            'released'.
        size_divisor (int): pad inputs to a multiple of this. Defaults to 32.

    A plain ``nn.Module`` on purpose: mmengine's ``BaseModule.init_weights`` (which the runner
    calls before training) would call timm's ``init_weights`` on its children and re-draw the
    pretrained weights.
    """

    @staticmethod
    def tiny_arch(arch: str) -> str:
        """The toy preset standing in for any preset in CPU tests."""
        return 'swin_toy'

    def __init__(self, arch: str = 'swin_l_w7', pretrained: Optional[str] = 'default',
                 drop_path_rate: float = 0.3, forward_mode: str = 'released',
                 size_divisor: int = 32) -> None:
        super().__init__()
        if arch not in SWIN_PRESETS:
            raise KeyError(f'unknown NeWCRFsSwin arch {arch!r}; known: {sorted(SWIN_PRESETS)}')
        if forward_mode not in FORWARD_MODES:
            raise ValueError(f'forward_mode must be one of {FORWARD_MODES}, got {forward_mode!r}')
        import timm

        name, tag, overrides = SWIN_PRESETS[arch]
        self.arch, self.forward_mode, self.size_divisor = arch, forward_mode, size_divisor
        kwargs = dict(num_classes=0, drop_path_rate=drop_path_rate, always_partition=True,
                      strict_img_size=False, **overrides)
        source = resolve_source(tag if pretrained == 'default' else pretrained)
        component = f'NeWCRFsSwin(arch={arch!r})'
        if source is not None and '/' not in source and not os.path.exists(source) \
                and not source.endswith(WEIGHT_FILES):
            source = timm_hub_id(name, source)  # a timm tag: its Hugging Face repository
        if source is None:
            model = timm.create_model(name, pretrained=False, **kwargs)
        elif os.path.exists(source) or source.startswith(('/', '.', '~')) \
                or source.endswith(WEIGHT_FILES):
            model = timm.create_model(name, pretrained=False, **kwargs)
            self._load_file(model, weights_file(source, component), component)
        else:  # a Hugging Face hub id
            model = load_or_fail(component, source, lambda s: timm.create_model(
                name, pretrained=True, pretrained_cfg_overlay=dict(hf_hub_id=s), **kwargs))
        self.pretrained_source = source or 'random'  # not ``weights_source``: this part trains
        model.prune_intermediate_layers(indices=len(model.layers), prune_norm=True)
        self.model = model
        self.out_channels = [info['num_chs'] for info in model.feature_info]
        self.out_norms = nn.ModuleList(nn.LayerNorm(c) for c in self.out_channels)

    @staticmethod
    def _load_file(model: nn.Module, path: str, component: str) -> None:
        from timm.models.swin_transformer import checkpoint_filter_fn

        state = checkpoint_filter_fn(read_state_dict(path), model)
        # classifier and final norm are not part of the backbone (NeWCRFs uses new norms)
        state = {k: v for k, v in state.items() if not k.startswith(('head.', 'norm.'))}
        expected = {k: v.shape for k, v in model.state_dict().items()
                    if not k.startswith(('head.', 'norm.'))}
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        wrong = sorted(k for k in set(expected) & set(state)
                       if tuple(state[k].shape) != tuple(expected[k]))
        if missing or unexpected or wrong:
            raise CheckpointError(
                f'{component}: {path} does not hold weights of this Swin: {len(missing)} '
                f'missing keys {missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, '
                f'{len(wrong)} shape mismatches {wrong[:3]}')
        model.load_state_dict(state, strict=False)

    def pad(self, images: Tensor) -> Tensor:
        """Normalised images, zero-padded bottom/right to multiples of ``size_divisor``."""
        x = normalize(images, IMAGENET_MEAN, IMAGENET_STD)
        h, w = x.shape[-2:]
        d = self.size_divisor
        return F.pad(x, (0, (-w) % d, 0, (-h) % d))

    @staticmethod
    def _block(block: nn.Module, x: Tensor) -> Tensor:
        """One timm ``SwinTransformerBlock`` on ``(B, H, W, C)`` with pad-then-roll windows."""
        window, shift = block.window_size[0], block.shift_size[0]
        attn = windowed(lambda xw, _, mask: block.attn(xw, mask=mask), block.norm1(x), None,
                        window, shift)
        x = x + block.drop_path1(attn)
        return x + block.drop_path2(block.mlp(block.norm2(x)))

    def forward(self, images: Tensor) -> List[Tensor]:
        """``(B, 3, H, W)`` in [0, 1] -> ``[(B, C_i, Hp / 2^(i+2), Wp / 2^(i+2))]_{i=0..3}``."""
        x = self.pad(images)
        if self.forward_mode == 'timm':
            feats = self.model.forward_intermediates(x, intermediates_only=True)
        elif self.forward_mode == 'released':
            x = self.model.patch_embed(x)  # (B, Hp/4, Wp/4, C)
            feats = []
            for stage in self.model.layers:
                x = stage.downsample(x)
                for block in stage.blocks:
                    x = self._block(block, x)
                feats.append(x.permute(0, 3, 1, 2))
        else:
            raise ValueError(f'forward_mode must be one of {FORWARD_MODES}, '
                             f'got {self.forward_mode!r}')
        # (B, C_i, h_i, w_i), each after its own LayerNorm over channels
        return [norm(f.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()
                for norm, f in zip(self.out_norms, feats)]
