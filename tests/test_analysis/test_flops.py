"""tr2m/analysis/flops.py: SDPA counted on CPU (hand formula), the two neck attention forms
count alike, and a DINOv2-like ViT against the analytic ViT formula."""
import pytest
import torch
import torch.nn.functional as F

from tr2m.analysis.flops import flop_counter, vit_flops


def test_sdpa_counted_on_cpu():
    b, h, n, m, d = 2, 4, 50, 30, 16
    q = torch.randn(b, h, n, d, requires_grad=True)
    k = torch.randn(b, h, m, d, requires_grad=True)
    v = torch.randn(b, h, m, d, requires_grad=True)
    with flop_counter() as fwd:
        out = F.scaled_dot_product_attention(q, k, v)
    assert fwd.get_total_flops() == 4 * b * h * n * m * d  # Q K^T and P V
    mask = torch.rand(b, 1, 1, m) > 0.2
    with flop_counter() as masked:
        F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert masked.get_total_flops() == 4 * b * h * n * m * d
    with flop_counter() as bwd:
        out.sum().backward()
    assert bwd.get_total_flops() == 10 * b * h * n * m * d  # scores again + 4 products


def test_neck_attention_forms_count_alike():
    from tr2m.models.encoders import TextEmbedding
    from tr2m.models.necks import CrossModalAttentionNeck

    counts = {}
    for impl in ('explicit', 'sdpa'):
        torch.manual_seed(0)
        neck = CrossModalAttentionNeck(32, 24, num_heads=4, text_tokens='all', attention=impl)
        x = torch.randn(2, 32, 5, 6)
        emb = TextEmbedding(torch.randn(2, 24), torch.randn(2, 7, 24),
                            torch.ones(2, 7, dtype=torch.bool))
        with flop_counter() as c:
            neck(x, emb)
        counts[impl] = c.get_total_flops()
    n, width = 30, 32
    attention = 4 * 2 * n * (n + 7) * width  # image keys and text keys, all heads
    projections = 2 * 2 * n * width * width * 5 + 2 * 2 * 7 * 24 * width * 2  # q k v o o'; k' v'
    assert counts['sdpa'] == counts['explicit'] == attention + projections


@pytest.mark.parametrize('shape', [(84, 112), (126, 98)])
def test_dinov2_like_vit_matches_the_analytic_formula(shape):
    from tr2m.models.encoders.dinov2 import DINOV2_PRESETS, DINOv2Encoder

    torch.manual_seed(0)
    enc = DINOv2Encoder(arch='vit_tiny14', pretrained=None).eval()
    _, hidden, layers, _, _ = DINOV2_PRESETS['vit_tiny14']
    with torch.no_grad(), flop_counter() as c:
        enc(torch.rand(1, 3, *shape))
    patches = (shape[0] // 14) * (shape[1] // 14)
    analytic = vit_flops(hidden, layers, patches)
    assert c.get_total_flops() == pytest.approx(analytic, rel=0.02)
    # without the SDPA formulas the attention is missing
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as plain:
        enc(torch.rand(1, 3, *shape))
    n = patches + 1
    assert plain.get_total_flops() == pytest.approx(analytic - layers * 4 * n * n * hidden,
                                                    rel=0.02)
