"""``CrossModalAttentionNeck`` (TR2M eq. 1-2) against hand-computed attention."""
import math

import pytest
import torch
from torch import nn

from tr2m.models.encoders import TextEmbedding
from tr2m.models.necks import CrossModalAttentionNeck


def text(pooled, tokens=None, mask=None):
    b = pooled.shape[0]
    tokens = pooled[:, None] if tokens is None else tokens
    mask = torch.ones(b, tokens.shape[1], dtype=torch.bool) if mask is None else mask
    return TextEmbedding(pooled, tokens, mask)


def test_equations_with_pooled_text():
    torch.manual_seed(0)
    neck = CrossModalAttentionNeck(in_channels=8, text_channels=6)
    img = torch.randn(2, 8, 3, 4)
    emb = text(torch.randn(2, 6))
    out = neck(img, emb)
    f = img.flatten(2).transpose(1, 2)  # (B, N, D)
    attn_img = torch.softmax(f @ f.transpose(1, 2) / math.sqrt(8), -1) @ f
    f_text = neck.text_proj(emb.pooled)[:, None]  # one token: Attn^L is its value everywhere
    expected = (f + attn_img + f_text).transpose(1, 2).reshape(2, 8, 3, 4)
    assert torch.allclose(out, expected, atol=1e-5)
    # parameters: only the text linear (6 -> 8)
    assert sum(p.numel() for p in neck.parameters()) == 6 * 8 + 8


def test_modalities_and_projections():
    img = torch.randn(1, 8, 2, 2)
    emb = text(torch.randn(1, 8))
    text_only = CrossModalAttentionNeck(8, 8, modalities=('text',))
    assert torch.allclose(text_only(img, emb), emb.pooled[:, :, None, None].expand(1, 8, 2, 2))
    image_only = CrossModalAttentionNeck(8, modalities=('image',))
    assert torch.allclose(image_only(img, None), image_only(img, emb))
    learnt = CrossModalAttentionNeck(8, 4, qkv_proj=True, num_heads=2, modalities=('image',))
    assert sum(isinstance(m, nn.Linear) for m in learnt.modules()) == 3  # q, k_img, v_img
    assert learnt(img).shape == img.shape
    with pytest.raises(ValueError, match='text_channels'):
        CrossModalAttentionNeck(8)
    with pytest.raises(ValueError, match='modalities'):
        CrossModalAttentionNeck(8, 8, modalities=('audio',))
    with pytest.raises(ValueError, match='no caption'):
        CrossModalAttentionNeck(8, 8)(img, None)


def test_all_tokens_ignores_padding():
    torch.manual_seed(0)
    neck = CrossModalAttentionNeck(8, 4, text_tokens='all')
    img = torch.randn(1, 8, 2, 3)
    tokens = torch.randn(1, 5, 4)
    mask = torch.tensor([[True, True, True, False, False]])
    out = neck(img, text(torch.randn(1, 4), tokens, mask))
    tokens[:, 3:] = 100.0  # padding must not matter
    assert torch.allclose(out, neck(img, text(torch.randn(1, 4), tokens, mask)))
