"""``CrossModalAttentionNeck`` (TR2M eq. 1-2) against hand-computed attention, both forms."""
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


def naive_attention(q, k, v, heads, mask=None):
    """Loop over images and heads: softmax(q_h k_h^T / sqrt(d)) v_h, heads concatenated."""
    b, n, width = q.shape
    d = width // heads
    out = torch.zeros(b, n, width, dtype=torch.float64)
    for i in range(b):
        for h in range(heads):
            sl = slice(h * d, (h + 1) * d)
            logits = q[i, :, sl].double() @ k[i, :, sl].double().T / math.sqrt(d)
            if mask is not None:
                logits[:, ~mask[i]] = -math.inf
            out[i, :, sl] = torch.softmax(logits, -1) @ v[i, :, sl].double()
    return out


def test_parameter_free_equations_with_pooled_text():
    torch.manual_seed(0)
    neck = CrossModalAttentionNeck(in_channels=8, text_channels=6, num_heads=1, qkv_proj=False)
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


@pytest.mark.parametrize('text_tokens', ['pooled', 'all'])
def test_learnt_form_matches_naive_multi_head_reference(text_tokens):
    torch.manual_seed(0)
    neck = CrossModalAttentionNeck(8, 6, num_heads=2, head_dim=3, text_tokens=text_tokens)
    img = torch.randn(2, 8, 3, 4)
    tokens = torch.randn(2, 5, 6)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    emb = text(torch.randn(2, 6), tokens, mask)
    out = neck(img, emb)
    f = img.flatten(2).transpose(1, 2)
    fn = nn.functional.layer_norm(f, (8,), neck.norm_img.weight, neck.norm_img.bias)
    q = neck.q(fn)
    attn_img = naive_attention(q, neck.k_img(fn), neck.v_img(fn), 2)
    expected = f.double() + neck.out_img(attn_img.float()).double()
    if text_tokens == 'pooled':
        t = nn.functional.layer_norm(emb.pooled, (6,), neck.norm_txt.weight, neck.norm_txt.bias)
        expected = expected + neck.out_txt(neck.v_txt(t))[:, None].double()
        assert not hasattr(neck, 'k_txt')  # softmax over one token: K_L would get no gradient
    else:
        t = nn.functional.layer_norm(tokens, (6,), neck.norm_txt.weight, neck.norm_txt.bias)
        attn_txt = naive_attention(q, neck.k_txt(t), neck.v_txt(t), 2, mask)
        expected = expected + neck.out_txt(attn_txt.float()).double()
    expected = expected.transpose(1, 2).reshape(2, 8, 3, 4)
    torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=1e-5)
    assert neck.q.out_features == 6  # 2 heads x head_dim 3


def test_paper_width_parameter_count():
    neck = CrossModalAttentionNeck(1024, 768, num_heads=16, head_dim=64)
    counts = {n: sum(p.numel() for p in m.parameters()) for n, m in neck.named_children()}
    assert counts == {'norm_img': 2048, 'q': 1049600, 'k_img': 1048576, 'v_img': 1049600,
                      'out_img': 1049600, 'norm_txt': 1536, 'v_txt': 787456,
                      'out_txt': 1049600}  # no key bias: the softmax cancels it
    assert sum(counts.values()) == 6_038_016


def test_modalities_and_projections():
    img = torch.randn(1, 8, 2, 2)
    emb = text(torch.randn(1, 8))
    text_only = CrossModalAttentionNeck(8, 8, qkv_proj=False, modalities=('text',))
    assert torch.allclose(text_only(img, emb), emb.pooled[:, :, None, None].expand(1, 8, 2, 2))
    image_only = CrossModalAttentionNeck(8, modalities=('image',), num_heads=2)
    assert torch.allclose(image_only(img, None), image_only(img, emb))
    assert not hasattr(image_only, 'v_txt')
    learnt_text_only = CrossModalAttentionNeck(8, 4, num_heads=2, modalities=('text',))
    assert not hasattr(learnt_text_only, 'q')  # pooled text alone needs no query
    out = learnt_text_only(img, text(torch.randn(1, 4)))
    assert torch.allclose(out, out[..., :1, :1].expand_as(out))  # one vector at every pixel
    with pytest.raises(ValueError, match='text_channels'):
        CrossModalAttentionNeck(8)
    with pytest.raises(ValueError, match='modalities'):
        CrossModalAttentionNeck(8, 8, modalities=('audio',))
    with pytest.raises(ValueError, match='no caption'):
        CrossModalAttentionNeck(8, 8, num_heads=2)(img, None)
    with pytest.raises(ValueError, match='text_tokens'):
        CrossModalAttentionNeck(8, 8, text_tokens='first')


@pytest.mark.parametrize('qkv_proj', [True, False])
def test_all_tokens_ignores_padding(qkv_proj):
    torch.manual_seed(0)
    neck = CrossModalAttentionNeck(8, 4, num_heads=2, text_tokens='all', qkv_proj=qkv_proj)
    img = torch.randn(1, 8, 2, 3)
    tokens = torch.randn(1, 5, 4)
    mask = torch.tensor([[True, True, True, False, False]])
    out = neck(img, text(torch.randn(1, 4), tokens, mask))
    tokens[:, 3:] = 100.0  # padding must not matter
    assert torch.allclose(out, neck(img, text(torch.randn(1, 4), tokens, mask)))


def test_learnt_neck_changes_features_pixel_by_pixel():
    """The parameter-free neck's only parameter adds one vector per image; the learnt one's
    parameters move each pixel differently (what SOC needs to shape the features)."""
    torch.manual_seed(0)
    img = torch.randn(2, 16, 4, 5)
    emb = text(torch.randn(2, 12))
    for qkv_proj, spatial in ((False, False), (True, True)):
        neck = CrossModalAttentionNeck(16, 12, num_heads=2, qkv_proj=qkv_proj)
        before = neck(img, emb)
        with torch.no_grad():
            for p in neck.parameters():
                p.add_(0.1 * torch.randn_like(p))
        change = neck(img, emb) - before  # (B, D, h, w)
        spread = change.flatten(2).std(-1).mean()  # spatial std of the change
        assert (spread > 1e-2) == spatial, (qkv_proj, float(spread))


@pytest.mark.parametrize('qkv_proj,text_tokens', [(True, 'pooled'), (True, 'all'),
                                                  (False, 'all')])
def test_sdpa_equals_explicit_forward_and_gradients(qkv_proj, text_tokens):
    """``attention='sdpa'`` (F.scaled_dot_product_attention) and the written-out form: the
    same outputs and the same gradients (inputs, caption tokens, every parameter) to 1e-5,
    padding masked, 8 heads over 35 image tokens."""
    torch.manual_seed(0)
    necks = {}
    for impl in ('explicit', 'sdpa'):
        torch.manual_seed(1)
        necks[impl] = CrossModalAttentionNeck(in_channels=32, text_channels=24, num_heads=8,
                                              qkv_proj=qkv_proj, text_tokens=text_tokens,
                                              attention=impl)
    img = torch.randn(2, 32, 5, 7)
    tokens = torch.randn(2, 6, 24)
    mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    pooled = torch.randn(2, 24)
    outs, grads = {}, {}
    for impl, neck in necks.items():
        x, t = img.clone().requires_grad_(), tokens.clone().requires_grad_()
        out = neck(x, text(pooled, t, mask))
        weight = torch.linspace(-1, 1, out.numel()).reshape(out.shape)
        (out * weight).sum().backward()
        outs[impl] = out.detach()
        grads[impl] = dict(x=x.grad, **({'tokens': t.grad} if t.grad is not None else {}),
                           **{n: p.grad for n, p in neck.named_parameters()})
    torch.testing.assert_close(outs['sdpa'], outs['explicit'], rtol=1e-5, atol=1e-5)
    assert set(grads['sdpa']) == set(grads['explicit']) and len(grads['sdpa']) > 1
    for name, g in grads['explicit'].items():
        assert g is not None and g.abs().max() > 0, name
        torch.testing.assert_close(grads['sdpa'][name], g, rtol=1e-5, atol=1e-5, msg=name)


def test_unknown_attention_impl_is_an_error():
    with pytest.raises(ValueError, match="attention must be one of"):
        CrossModalAttentionNeck(in_channels=8, text_channels=6, attention='flash')
    from tr2m.models.necks import multi_head_attention

    with pytest.raises(ValueError, match='attention impl must be one of'):
        multi_head_attention(torch.zeros(1, 2, 4), torch.zeros(1, 2, 4), torch.zeros(1, 2, 4),
                             2, impl='naive')
