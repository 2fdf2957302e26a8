"""Convert the released ScaleDepth checkpoint (mmdepth / mmdet key names) to this project's.

    python -m projects.scaledepth.scaledepth.convert_released iter_40000.pth scaledepth_nk.pth
    python tools/test.py projects/scaledepth/configs/scaledepth_clip_convnext_l_nk_352x512.py \\
        scaledepth_nk.pth

The key rules follow the module names of mmdet's ``Mask2FormerHead`` /
``MSDeformAttnPixelDecoder`` and mmcv's ``ConvModule`` / ``FFN`` / ``MultiheadAttention``
(``conv``/``gn``, ``ffn.layers.0.0``/``ffn.layers.1``, ``attn.in_proj_weight``). The parts of the
CLIP model the released code holds but never trains (text tower, vision head) are dropped.
The rules were written from those libraries' module names and tested on a synthetic file in
that layout; the released file itself was not reachable from the machine this was written on.
The file is read with ``torch.load(weights_only=True)``; a file that needs more than that is
refused (re-save its ``state_dict`` on a machine where you trust it).
"""
import argparse
import re
import sys
from typing import Dict, List, Optional

import torch

from tr2m.utils.checkpoint import allow_mmengine_checkpoints
from tr2m.utils.errors import CheckpointError, MissingFileError

_PD = r'decode_head\.pixel_decoder\.'
_TD = r'decode_head\.transformer_decoder\.layers\.(\d+)\.'
#: ``(released key pattern, our key)``, first match wins; None drops the key.
RULES = [
    (r'backbone\.clip_model\.visual\.trunk\.(stem|stages)\.', r'backbone.\1.'),
    (r'backbone\.clip_model\.', None),  # text tower, vision head, logit scale: never trained
    (_PD + r'(input_convs|lateral_convs|output_convs)\.(\d+)\.conv\.',
     r'decode_head.pixel_decoder.\1.\2.0.'),
    (_PD + r'(input_convs|lateral_convs|output_convs)\.(\d+)\.gn\.',
     r'decode_head.pixel_decoder.\1.\2.1.'),
    (_PD + r'encoder\.layers\.(\d+)\.self_attn\.',
     r'decode_head.pixel_decoder.layers.\1.self_attn.'),
    (_PD + r'encoder\.layers\.(\d+)\.ffn\.layers\.0\.0\.',
     r'decode_head.pixel_decoder.layers.\1.ffn.0.'),
    (_PD + r'encoder\.layers\.(\d+)\.ffn\.layers\.1\.',
     r'decode_head.pixel_decoder.layers.\1.ffn.2.'),
    (_PD + r'encoder\.layers\.(\d+)\.norms\.0\.', r'decode_head.pixel_decoder.layers.\1.norm1.'),
    (_PD + r'encoder\.layers\.(\d+)\.norms\.1\.', r'decode_head.pixel_decoder.layers.\1.norm2.'),
    (_PD + r'(level_encoding|mask_feature)\.', r'decode_head.pixel_decoder.\1.'),
    (_TD + r'(cross_attn|self_attn)\.attn\.', r'decode_head.layers.\1.\2.'),
    (_TD + r'ffn\.layers\.0\.0\.', r'decode_head.layers.\1.ffn.0.'),
    (_TD + r'ffn\.layers\.1\.', r'decode_head.layers.\1.ffn.3.'),
    (_TD + r'norms\.(\d+)\.', r'decode_head.layers.\1.norms.\2.'),
    (r'decode_head\.transformer_decoder\.post_norm\.', r'decode_head.arde.norm.'),
    (r'decode_head\.cls_embed\.', r'decode_head.arde.bin_embed.'),
    (r'decode_head\.mask_embed\.', r'decode_head.arde.mask_embed.'),
    (r'decode_head\.(query_embed|query_feat|level_embed)\.', r'decode_head.\1.'),
    (r'decode_head\.scale_predictor\.fc\.', r'decode_head.sasp.scale_fc.'),
    (r'decode_head\.class_embeddings$', 'class_embeddings'),
]
_COMPILED = [(re.compile('^' + pattern), repl) for pattern, repl in RULES]


def convert_released_state_dict(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Our keys for a released ScaleDepth state dict; a key no rule knows is an error."""
    out, unknown = {}, []
    for key, value in state.items():
        for pattern, repl in _COMPILED:
            if pattern.match(key):
                if repl is not None:
                    out[pattern.sub(repl, key, count=1)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(f'{len(unknown)} keys of the released checkpoint have no rule (is it '
                              f'a ScaleDepth checkpoint?): {unknown[:5]}')
    return out


def load_released(path: str) -> Dict[str, torch.Tensor]:
    """The state dict of a released checkpoint file, loaded with ``weights_only=True``."""
    import os

    if not os.path.isfile(path):
        raise MissingFileError(f'checkpoint not found: {path}')
    allow_mmengine_checkpoints()
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised as a user error
        raise CheckpointError(
            f'{path}: cannot be read with weights_only=True ({type(err).__name__}). On a machine '
            "where you trust the file, save its 'state_dict' alone with torch.save and convert "
            'that file') from err
    return ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description='Convert a released ScaleDepth checkpoint')
    parser.add_argument('src', help='released checkpoint (e.g. iter_40000.pth)')
    parser.add_argument('dst', help='converted checkpoint for tools/test.py')
    args = parser.parse_args(argv)
    try:
        state = convert_released_state_dict(load_released(args.src))
    except (CheckpointError, MissingFileError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    torch.save(dict(state_dict=state, meta=dict(converted_from=args.src)), args.dst)
    print(f'{len(state)} tensors written to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
