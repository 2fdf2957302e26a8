"""``GlobalScaleShiftHead``: an embedding -> one positive scale and shift per image (RSA)."""
import math
from typing import Dict, Optional, Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.models.layers.image_ops import positive_map
from tr2m.models.pretrained import load_or_fail, resolve_source
from tr2m.registry import MODELS

#: Layout presets: ``arch -> (channels, head_channels)``. ``'rsa'`` is RSA's released
#: ``LanScaleModel`` (scene net 1024 -> 512 -> 512 -> 512 -> 256 -> 256, scale and shift nets
#: 256 -> 256 -> 128 -> 128 -> 64 -> 1; 1,494,274 parameters with CLIP RN50's 1024-d text);
#: ``'compact'`` is the smaller layout this toolbox used before (in -> 512 -> 256 -> 256 and
#: 256 -> 128 -> 64 -> 1; 804,354 parameters at 1024-d), kept for comparisons.
HEAD_ARCHS = {
    'rsa': ((512, 512, 512, 256, 256), (256, 128, 128, 64)),
    'compact': ((512, 256, 256), (128, 64)),
}
#: Module names of RSA's released ``LanScaleModel`` -> ours (same layer indices inside).
RELEASED_NAMES = {'scene_feat_net.': 'scene.', 'scale_net.': 'scale.', 'shift_net.': 'shift.'}


def load_released_state_dict(path: str) -> Dict[str, Tensor]:
    """The head's state dict from a checkpoint file of RSA's release or of this head.

    Accepts RSA's checkpoints (``{'global_step', 'model': LanScaleModel.state_dict(), ...}``,
    e.g. ``RSA/checkpoints/da_ckpt``; ``module.`` prefixes of ``DataParallel`` are dropped and
    ``scene_feat_net`` / ``scale_net`` / ``shift_net`` renamed) or a plain state dict of this
    head. Loaded with ``torch.load(weights_only=True)``.
    """
    from tr2m.utils.checkpoint import load_checkpoint_file

    state = load_checkpoint_file(path, map_location='cpu')  # weights_only=True
    if isinstance(state, dict) and isinstance(state.get('model'), dict):
        state = state['model']
    if not isinstance(state, dict):
        raise ValueError(f'{path} holds a {type(state).__name__}, not a state dict')
    out = {}
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        for old, new in RELEASED_NAMES.items():
            if key.startswith(old):
                key = new + key[len(old):]
        out[key] = value
    return out


def linear_chain(widths: Sequence[int]) -> nn.Sequential:
    """``Linear`` layers through ``widths`` with ``LeakyReLU`` (slope 0.01) between them and
    none after the last one, as RSA's ``nn.Sequential`` nets."""
    layers = []
    for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
        if i:
            layers.append(nn.LeakyReLU())
        layers.append(nn.Linear(c_in, c_out))
    return nn.Sequential(*layers)


@MODELS.register_module()
class GlobalScaleShiftHead(BaseModule):
    """RSA's head (Zeng et al., NeurIPS 2024; released ``LanScaleModel``): a scene MLP, then a
    scale MLP and a shift MLP, each output through ``exp``, giving one positive scale ``s`` and
    one shift ``t`` per image for ``D = 1 / (s * Dr + t)``.

    Layout (``arch='rsa'``, the released code): scene net ``in -> 512 -> 512 -> 512 -> 256 ->
    256``, scale and shift nets ``256 -> 256 -> 128 -> 128 -> 64 -> 1``, ``LeakyReLU`` between
    the linears of each net and none after a net's last linear (so the scene net's last
    linear feeds the first linear of each output net directly), ``exp`` on both outputs.
    1,494,274 parameters for RN50's 1024-d text embedding (scene net 1,247,232, each output
    net 123,521); 1,166,594 for a 384-d one.

    Initialisation: by default PyTorch's ``nn.Linear`` initialisation everywhere, as released
    (the outputs start near ``exp(0) = 1`` with an image-dependent spread). ``init_scale`` /
    ``init_shift`` instead zero the last linear's weights and set its bias to the log of the
    value, so training starts from that exact global map.

    Activation: RSA applies ``torch.exp`` without a clamp; here ``positive_map(x,
    activation)`` of :mod:`tr2m.models.layers.image_ops`, by default ``'exp_st'``: ``exp`` of a
    straight-through clamp at +-20 (the values of ``exp`` there, a gradient that never vanishes,
    no inf).

    Args:
        in_channels (int): text embedding width (read from the text encoder by the depther).
        arch (str): a key of :data:`HEAD_ARCHS`. Defaults to 'rsa'.
        channels (Sequence[int], optional): widths of the scene net after ``in_channels``
            (overrides the preset). Defaults to None.
        head_channels (Sequence[int], optional): hidden widths of each output net, before its
            final 1 (overrides the preset). Defaults to None.
        init_scale (float, optional): initial scale (> 0), or None for the default init.
            Defaults to None.
        init_shift (float, optional): initial shift (> 0), or None for the default init.
            Defaults to None.
        pretrained (str, optional): a checkpoint file to start from: RSA's released weights
            (``RSA/checkpoints/{da,dpt,midas}_ckpt``, for its RN50 text and matching relative
            model) or a saved state dict of this head (:func:`load_released_state_dict`);
            ignored under ``TR2M_RANDOM_INIT=1``. Defaults to None.
    """

    def __init__(self, in_channels: int, arch: str = 'rsa',
                 channels: Optional[Sequence[int]] = None,
                 head_channels: Optional[Sequence[int]] = None,
                 init_scale: Optional[float] = None, init_shift: Optional[float] = None,
                 pretrained: Optional[str] = None, activation: str = 'exp_st',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.activation = activation
        if arch not in HEAD_ARCHS:
            raise ValueError(f'unknown GlobalScaleShiftHead arch {arch!r}; '
                             f'known: {sorted(HEAD_ARCHS)}')
        for name, value in (('init_scale', init_scale), ('init_shift', init_shift)):
            if value is not None and not value > 0:
                raise ValueError(f'{name} must be positive (it goes through exp), got {value}')
        preset_channels, preset_head = HEAD_ARCHS[arch]
        channels = tuple(preset_channels if channels is None else channels)
        head_channels = tuple(preset_head if head_channels is None else head_channels)
        self.scene = linear_chain((in_channels, *channels))
        self.scale = linear_chain((channels[-1], *head_channels, 1))
        self.shift = linear_chain((channels[-1], *head_channels, 1))
        for net, value in ((self.scale, init_scale), (self.shift, init_shift)):
            if value is not None:
                nn.init.zeros_(net[-1].weight)
                nn.init.constant_(net[-1].bias, math.log(value))
        source = resolve_source(pretrained)
        if source is not None:  # trainable: it stays in the depther's checkpoints
            load_or_fail(f'GlobalScaleShiftHead(arch={arch!r})', source,
                         lambda f: self.load_state_dict(load_released_state_dict(f)),
                         what='head weights')

    def forward(self, emb: Tensor) -> Tuple[Tensor, Tensor]:
        """``(B, D')`` embedding -> scale and shift, each ``(B, 1, 1, 1)``, positive."""
        code = self.scene(emb)  # (B, C)
        s, t = self.scale(code), self.shift(code)  # (B, 1) each, log-space
        s, t = positive_map(s, self.activation), positive_map(t, self.activation)
        return s[:, :, None, None], t[:, :, None, None]
