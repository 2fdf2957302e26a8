"""ScaleDepth's building blocks against naive references and hand-computed cases:
deformable attention, sine positions, bins -> relative depth, attention masks, SASP."""
import math

import pytest
import torch
import torch.nn.functional as F

from projects.scaledepth.scaledepth.arde import (
    AdaptiveBinHead,
    attention_mask,
    bins_to_relative_depth,
)
from projects.scaledepth.scaledepth.ms_deform_attn import (
    MultiScaleDeformableAttention,
    multi_scale_deformable_attention,
)
from projects.scaledepth.scaledepth.pixel_decoder import MSDeformAttnPixelDecoder
from projects.scaledepth.scaledepth.sasp import SemanticScalePredictor, scene_similarity_logits
from projects.scaledepth.scaledepth.scaledepth_head import ScaleDepthHead
from projects.scaledepth.scaledepth.sine_position import sine_position_encoding


def bilinear_zero_pad(img, x, y):
    """Naive bilinear sample of ``img (D, h, w)`` at pixel coordinates (centres at i + 0.5 ->
    index i), zeros outside: what grid_sample(align_corners=False) computes."""
    d, h, w = img.shape
    px, py = x * w - 0.5, y * h - 0.5
    x0, y0 = math.floor(px), math.floor(py)
    out = torch.zeros(d)
    for yy, wy in ((y0, 1 - (py - y0)), (y0 + 1, py - y0)):
        for xx, wx in ((x0, 1 - (px - x0)), (x0 + 1, px - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                out += wy * wx * img[:, yy, xx]
    return out


def test_deformable_attention_matches_a_naive_loop():
    torch.manual_seed(0)
    shapes = [(3, 4), (2, 2)]
    b, m, d, q, p = 2, 2, 3, 5, 2
    value = torch.randn(b, sum(h * w for h, w in shapes), m, d)
    loc = torch.rand(b, q, m, len(shapes), p, 2) * 1.2 - 0.1  # some samples fall outside
    weights = torch.rand(b, q, m, len(shapes), p)
    out = multi_scale_deformable_attention(value, shapes, loc, weights)
    assert out.shape == (b, q, m * d)
    levels = value.split([h * w for h, w in shapes], 1)
    ref = torch.zeros(b, q, m, d)
    for bi in range(b):
        for qi in range(q):
            for mi in range(m):
                for li, (h, w) in enumerate(shapes):
                    img = levels[li][bi, :, mi].t().reshape(d, h, w)
                    for pi in range(p):
                        x, y = loc[bi, qi, mi, li, pi].tolist()
                        ref[bi, qi, mi] += weights[bi, qi, mi, li, pi] * bilinear_zero_pad(
                            img, x, y)
    torch.testing.assert_close(out, ref.flatten(2), rtol=1e-5, atol=1e-5)


def test_deformable_attention_module_at_init():
    attn = MultiScaleDeformableAttention(embed_dims=8, num_heads=2, num_levels=1, num_points=2)
    # Deformable DETR's init: head k looks along direction 2 pi k / M at radius 1..P, uniformly
    bias = attn.sampling_offsets.bias.view(2, 1, 2, 2)
    torch.testing.assert_close(bias[0, 0], torch.tensor([[1.0, 0.0], [2.0, 0.0]]))
    torch.testing.assert_close(bias[1, 0], torch.tensor([[-1.0, 0.0], [-2.0, 0.0]]),
                               atol=1e-6, rtol=0)
    assert attn.attention_weights.weight.abs().sum() == 0
    x = torch.randn(1, 6, 8)
    ref = torch.rand(1, 6, 1, 2)
    out = attn(x, torch.zeros_like(x), ref, [(2, 3)])
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_sine_position_encoding_formula():
    h, w, f = 3, 5, 8
    pos = sine_position_encoding(h, w, f)
    assert pos.shape == (1, 2 * f, h, w)
    i, j, k = 1, 3, 5  # row, column, frequency index (odd -> cosine)
    freq = 10000 ** (2 * (k // 2) / f)
    y = (i + 1) / (h + 1e-6) * 2 * math.pi
    x = (j + 1) / (w + 1e-6) * 2 * math.pi
    assert pos[0, k, i, j].item() == pytest.approx(math.cos(y / freq), abs=1e-6)
    assert pos[0, f + k - 1, i, j].item() == pytest.approx(math.sin(x / freq), abs=1e-6)


def test_bins_to_relative_depth_hand_case():
    bins = torch.zeros(1, 2)  # two equal bins: edges 1e-3, 0.501, 1.001
    peaked = torch.tensor([[20.0, -20.0]])[..., None, None].expand(1, 2, 1, 2).clone()
    peaked[..., 1] = -peaked[..., 1]  # pixel 0 -> bin 0, pixel 1 -> bin 1
    rel, edges = bins_to_relative_depth(bins, peaked)
    torch.testing.assert_close(edges, torch.tensor([[1e-3, 0.501, 1.001]]))
    torch.testing.assert_close(rel[0, 0, 0], torch.tensor([0.251, 0.751]), atol=1e-6, rtol=0)
    rel, _ = bins_to_relative_depth(bins, torch.zeros(1, 2, 1, 1))  # uniform: the middle
    assert rel.item() == pytest.approx(0.501)
    # unequal widths: softmax([log 3, 0]) = (0.75, 0.25) -> centres 0.376, 0.876
    rel, edges = bins_to_relative_depth(torch.tensor([[math.log(3), 0.0]]), peaked)
    torch.testing.assert_close(rel[0, 0, 0], torch.tensor([0.376, 0.876]), atol=1e-6, rtol=0)
    for norm in ('linear', 'sigmoid'):
        _, e = bins_to_relative_depth(torch.randn(3, 4), torch.randn(3, 4, 2, 2), norm=norm)
        torch.testing.assert_close(e[:, -1], torch.full((3,), 1.001))
    with pytest.raises(ValueError, match='norm'):
        bins_to_relative_depth(bins, peaked, norm='exp')


def test_attention_mask_threshold_and_layout():
    logits = torch.tensor([[[[2.0, -2.0]], [[-1.0, 0.0]]]])  # (B=1, N=2, 1, 2)
    mask = attention_mask(logits, (1, 2), num_heads=3)
    assert mask.shape == (3, 2, 2)
    expected = torch.tensor([[False, True], [True, False]])  # sigmoid(0) = 0.5 is kept
    assert all(torch.equal(mask[h], expected) for h in range(3))


def test_sasp_scale_and_similarity():
    sasp = SemanticScalePredictor(channels=4, num_queries=2)
    assert isinstance(sasp.text_proj, torch.nn.Identity)  # 2 x 4 = the text width
    with torch.no_grad():
        sasp.scale_fc.weight.fill_(1.0)
        sasp.scale_fc.bias.fill_(-1.0)
    q = torch.tensor([[[1.0, 0, 0, 0], [0, 0, 0, 0]], [[-5.0, 0, 0, 0], [0, 0, 0, 0]]])
    text = F.normalize(torch.randn(3, 8), dim=-1)
    scale, logits = sasp(q, text)
    torch.testing.assert_close(scale, torch.tensor([[0.1], [0.1]]))  # relu(0), relu(-6)
    torch.testing.assert_close(logits, 100.0 * q.flatten(1) @ text.t())
    torch.testing.assert_close(scene_similarity_logits(q.flatten(1), text, 2.0),
                               2.0 * q.flatten(1) @ text.t())
    other = SemanticScalePredictor(channels=4, num_queries=2, text_channels=5)
    assert other(q, torch.randn(3, 5))[1].shape == (2, 3)


def test_pixel_decoder_shapes():
    dec = MSDeformAttnPixelDecoder([8, 16, 32, 64], channels=16, num_layers=1, ffn_channels=32,
                                   num_groups=4)
    feats = [torch.randn(2, c, 32 // s, 48 // s) for c, s in zip([8, 16, 32, 64], [1, 2, 4, 8])]
    mask_features, levels = dec(feats)
    assert mask_features.shape == (2, 16, 32, 48)
    assert [tuple(x.shape[-2:]) for x in levels] == [(4, 6), (8, 12), (16, 24)]


def test_head_outputs_per_layer_and_scale_queries_see_everything():
    torch.manual_seed(0)
    head = ScaleDepthHead([8, 16, 32, 64], text_channels=12, channels=16, num_bin_queries=5,
                          num_scale_queries=3, num_layers=4, num_heads=2, ffn_channels=32,
                          pixel_decoder=dict(num_layers=1, ffn_channels=32, num_groups=4))
    feats = [torch.randn(2, c, 32 // s, 48 // s) for c, s in zip([8, 16, 32, 64], [1, 2, 4, 8])]
    out = head(feats, F.normalize(torch.randn(7, 12), dim=-1))
    assert len(out.rel_depth) == len(out.scale) == len(out.scene_logits) == 4
    assert out.rel_depth[-1].shape == (2, 1, 32, 48)
    assert out.scene_logits[-1].shape == (2, 7) and out.bin_edges[-1].shape == (2, 6)
    assert (out.scale[-1] >= 0.1).all()
    r = out.rel_depth[-1]
    assert (r > 1e-3).all() and (r < 1.001).all()
    # the scale queries' cross-attention is never masked: record the masks the layers get
    seen = []
    for layer in head.layers:
        layer.register_forward_pre_hook(lambda m, args: seen.append(args[4]))
    head(feats, torch.randn(7, 12))
    for mask in seen:
        assert mask.shape == (2 * 2, 8, mask.shape[-1])
        assert not mask[:, 5:].any()  # scale queries
        assert not mask[:, :5].all(-1).any()  # no bin query is blind


def test_bin_head_mask_is_a_dot_product():
    arde = AdaptiveBinHead(channels=4, mask_channels=3)
    q = torch.randn(1, 2, 4)
    feats = torch.randn(1, 3, 2, 2)
    bins, masks = arde(q, feats)
    emb = arde.mask_embed(arde.norm(q))
    torch.testing.assert_close(masks[0, 1, 1, 0], (emb[0, 1] * feats[0, :, 1, 0]).sum())
    assert bins.shape == (1, 2)


def test_released_similarity_starts_saturated():
    """At the released widths (3 x 256 queries, 28 unit text embeddings, logit scale 100), the
    initial head's scene softmax is one-hot, so the released CE of the softmax sits at
    log(27 + e) with almost no gradient (README: 'Similarity loss form')."""
    from projects.scaledepth.scaledepth.text_image_loss import text_image_similarity_loss

    torch.manual_seed(0)
    head = ScaleDepthHead([192, 384, 768, 1536], text_channels=768)
    feats = [torch.randn(2, c, 88 // s, 128 // s)
             for c, s in zip([192, 384, 768, 1536], [1, 2, 4, 8])]
    logits = head(feats, F.normalize(torch.randn(28, 768), dim=-1)).scene_logits[-1].detach()
    assert logits.std() > 50 and (logits.softmax(-1).max(-1).values > 0.999).all()
    wrong = (logits.argmax(-1) + 1) % 28
    x = logits.clone().requires_grad_()
    loss = text_image_similarity_loss(x, wrong)
    assert loss.item() == pytest.approx(math.log(27 + math.e), abs=1e-3)
    loss.backward()
    assert x.grad.abs().max() < 1e-3
