"""Map a released NeWCRFs checkpoint (``model_nyu.ckpt``, ``model_kittieigen.ckpt``, or any
``NewCRFDepth`` state dict) onto :class:`NeWCRFs` parameter names.

Layout facts: the released backbone is Microsoft's Swin layout (``layers.i.downsample`` at the
end of stage ``i``; timm puts it at the start of stage ``i + 1``) plus output norms
``backbone.norm0..3``; the decoder is ``decoder`` (PPM, mmcv ``ConvModule`` names ``conv`` /
``gn`` / ``bn``), ``crf3 .. crf0`` (``crf_layer.blocks``, ``norm_crf``) and ``disp_head1``;
DataParallel / DDP prefix everything with ``module.``. Index buffers
(``relative_position_index``) are rebuilt, not loaded.
"""
import re
from typing import Dict

from torch import Tensor

_RULES = [
    (r'^backbone\.norm(\d)\.', r'backbone.out_norms.\1.'),
    (r'^backbone\.layers\.(\d)\.downsample\.',
     lambda m: f'backbone.model.layers.{int(m.group(1)) + 1}.downsample.'),
    (r'^backbone\.', 'backbone.model.'),
    (r'^decoder\.psp_modules\.(\d)\.1\.conv\.', r'decode_head.psp.branches.\1.conv.'),
    (r'^decoder\.psp_modules\.(\d)\.1\.gn\.', r'decode_head.psp.branches.\1.norm.'),
    (r'^decoder\.bottleneck\.conv\.', 'decode_head.psp.bottleneck.conv.'),
    (r'^decoder\.bottleneck\.bn\.', 'decode_head.psp.bottleneck.norm.'),
    (r'^crf(\d)\.crf_layer\.blocks\.(\d)\.mlp\.fc1\.',
     r'decode_head.crf_blocks.\1.blocks.\2.mlp.0.'),
    (r'^crf(\d)\.crf_layer\.blocks\.(\d)\.mlp\.fc2\.',
     r'decode_head.crf_blocks.\1.blocks.\2.mlp.2.'),
    (r'^crf(\d)\.crf_layer\.blocks\.', r'decode_head.crf_blocks.\1.blocks.'),
    (r'^crf(\d)\.norm_crf\.', r'decode_head.crf_blocks.\1.norm.'),
    (r'^crf(\d)\.', r'decode_head.crf_blocks.\1.'),
    (r'^disp_head1\.conv1\.', 'decode_head.disp_head.conv.'),
    (r'^mask_head\.(\d)\.', r'decode_head.disp_head.mask_head.\1.'),
]


def convert_released_state_dict(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Released ``NewCRFDepth`` keys -> :class:`NeWCRFs` keys (index buffers dropped).

    Raises:
        KeyError: a key that matches no rule (the file is not a NeWCRFs checkpoint).
    """
    out = {}
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if key.endswith(('relative_position_index', 'attn_mask')):
            continue
        for pattern, repl in _RULES:
            new, n = re.subn(pattern, repl, key)
            if n:
                out[new] = value
                break
        else:
            raise KeyError(f'not a key of a released NeWCRFs model: {key!r}')
    return out
