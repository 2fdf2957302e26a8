"""The released-checkpoint converter on a synthetic file in the released (mmdet) layout."""
import re

import pytest
import torch
from test_scaledepth_model import SMALL, build  # this folder is on sys.path under pytest

from projects.scaledepth.scaledepth.convert_released import convert_released_state_dict, main
from tr2m.utils.errors import CheckpointError

#: ours -> released, written from mmdet / mmcv module names (independently of the converter)
INVERSE = [
    (r'backbone\.', 'backbone.clip_model.visual.trunk.'),
    (r'decode_head\.pixel_decoder\.(input_convs|lateral_convs|output_convs)\.(\d+)\.0\.',
     r'decode_head.pixel_decoder.\1.\2.conv.'),
    (r'decode_head\.pixel_decoder\.(input_convs|lateral_convs|output_convs)\.(\d+)\.1\.',
     r'decode_head.pixel_decoder.\1.\2.gn.'),
    (r'decode_head\.pixel_decoder\.layers\.(\d+)\.self_attn\.',
     r'decode_head.pixel_decoder.encoder.layers.\1.self_attn.'),
    (r'decode_head\.pixel_decoder\.layers\.(\d+)\.ffn\.0\.',
     r'decode_head.pixel_decoder.encoder.layers.\1.ffn.layers.0.0.'),
    (r'decode_head\.pixel_decoder\.layers\.(\d+)\.ffn\.2\.',
     r'decode_head.pixel_decoder.encoder.layers.\1.ffn.layers.1.'),
    (r'decode_head\.pixel_decoder\.layers\.(\d+)\.norm1\.',
     r'decode_head.pixel_decoder.encoder.layers.\1.norms.0.'),
    (r'decode_head\.pixel_decoder\.layers\.(\d+)\.norm2\.',
     r'decode_head.pixel_decoder.encoder.layers.\1.norms.1.'),
    (r'decode_head\.pixel_decoder\.', 'decode_head.pixel_decoder.'),
    (r'decode_head\.layers\.(\d+)\.(cross_attn|self_attn)\.',
     r'decode_head.transformer_decoder.layers.\1.\2.attn.'),
    (r'decode_head\.layers\.(\d+)\.ffn\.0\.',
     r'decode_head.transformer_decoder.layers.\1.ffn.layers.0.0.'),
    (r'decode_head\.layers\.(\d+)\.ffn\.3\.',
     r'decode_head.transformer_decoder.layers.\1.ffn.layers.1.'),
    (r'decode_head\.layers\.(\d+)\.norms\.', r'decode_head.transformer_decoder.layers.\1.norms.'),
    (r'decode_head\.arde\.norm\.', 'decode_head.transformer_decoder.post_norm.'),
    (r'decode_head\.arde\.bin_embed\.', 'decode_head.cls_embed.'),
    (r'decode_head\.arde\.mask_embed\.', 'decode_head.mask_embed.'),
    (r'decode_head\.sasp\.scale_fc\.', 'decode_head.scale_predictor.fc.'),
    (r'decode_head\.', 'decode_head.'),
    (r'class_embeddings$', 'decode_head.class_embeddings'),
]


def released_layout(state):
    out = {}
    for key, value in state.items():
        for pattern, repl in INVERSE:
            if re.match(pattern, key):
                out[re.sub('^' + pattern, repl, key, count=1)] = value
                break
        else:
            raise AssertionError(f'no inverse rule for {key}')
    # parts of the CLIP model that the released code holds and never trains
    out['backbone.clip_model.transformer.resblocks.0.attn.in_proj_weight'] = torch.zeros(3, 1)
    out['backbone.clip_model.visual.head.mlp.fc1.weight'] = torch.zeros(2, 2)
    out['backbone.clip_model.visual.trunk.head.norm.weight'] = torch.zeros(2)
    out['backbone.clip_model.logit_scale'] = torch.ones(())
    return out


def no_projection():
    # one 32-wide scale query = the tiny CLIP text width: no text projection, as released
    return build(decode_head=dict(SMALL['decode_head'], num_scale_queries=1))


def test_released_layout_converts_back(tmp_path):
    model = no_projection()
    state = model.state_dict()
    released = released_layout(state)
    assert 'decode_head.pixel_decoder.encoder.layers.0.ffn.layers.1.weight' in released
    converted = convert_released_state_dict(released)
    assert set(converted) == set(state)
    assert all(torch.equal(converted[k], v) for k, v in state.items())
    with pytest.raises(CheckpointError, match='no rule'):
        convert_released_state_dict({**released, 'decode_head.foo.weight': torch.zeros(1)})
    # the command line: mmengine-style file in, a file tools/test.py loads out
    src, dst = tmp_path / 'iter_40000.pth', tmp_path / 'ours.pth'
    torch.save(dict(state_dict=released, meta=dict(iter=40000)), src)
    assert main([str(src), str(dst)]) == 0
    other = no_projection()
    other.load_state_dict(torch.load(dst, weights_only=True)['state_dict'])
    x = torch.rand(1, 3, 64, 96)
    model.eval(), other.eval()
    with torch.no_grad():
        torch.testing.assert_close(other._forward(x), model._forward(x))
    assert main([str(tmp_path / 'missing.pth'), str(dst)]) == 2
