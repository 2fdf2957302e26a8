"""Window attention with relative position bias (regular and shifted windows, with padding)
against a naive per-pixel reference; the shifted-window mask; partition round trips."""
import pytest
import torch
import torch.nn.functional as F

from projects.newcrfs.newcrfs.crf_layer import CRFWindowAttention, NeuralWindowCRF, window_attention
from projects.newcrfs.newcrfs.window_ops import (
    MASK_VALUE,
    relative_position_index,
    shifted_window_mask,
    window_partition,
    window_reverse,
    windowed,
)


def groups(n: int, window: int, shift: int) -> list:
    """Each position's attention group along one axis of a padded canvas of length ``n``:
    the (shifted) window grid, cut at the canvas border (the semantics of a shift)."""
    cuts = sorted({0, n} | set(range(shift, n, window)))
    return [max(j for j, c in enumerate(cuts) if c <= i) for i in range(n)]


def naive_attention(attn: CRFWindowAttention, x, v, window, shift):
    """Per pixel: attend to the tokens of the padded canvas in the same group, with the bias
    of their offset; padded tokens are zeros (as released)."""
    b, h, w, c = x.shape
    hp, wp = -(-h // window) * window, -(-w // window) * window
    xp = F.pad(x, (0, 0, 0, wp - w, 0, hp - h))
    vp = F.pad(v, (0, 0, 0, wp - w, 0, hp - h))
    heads, d = attn.num_heads, c // attn.num_heads
    q, k = attn.qk(xp).split(c, dim=-1)
    gy, gx = groups(hp, window, shift), groups(wp, window, shift)
    table = attn.relative_position_bias_table
    out = torch.zeros(b, h, w, c)
    for y in range(h):
        for x0 in range(w):
            keys = [(ky, kx) for ky in range(hp) for kx in range(wp)
                    if gy[ky] == gy[y] and gx[kx] == gx[x0]]
            for hd in range(heads):
                sl = slice(hd * d, (hd + 1) * d)
                logits = torch.stack([
                    (q[:, y, x0, sl] * k[:, ky, kx, sl]).sum(-1) * d ** -0.5
                    + table[(y - ky + window - 1) * (2 * window - 1) + (x0 - kx + window - 1), hd]
                    for ky, kx in keys], -1)  # (B, K)
                vals = torch.stack([vp[:, ky, kx, sl] for ky, kx in keys], 1)  # (B, K, d)
                out[:, y, x0, sl] = (logits.softmax(-1)[..., None] * vals).sum(1)
    return attn.proj(out)


@pytest.fixture
def attn():
    torch.manual_seed(0)
    module = CRFWindowAttention(dim=4, num_heads=2, window=4)
    with torch.no_grad():
        module.relative_position_bias_table.normal_()  # a bias that matters
    return module


@pytest.mark.parametrize('size', [(8, 8), (6, 9)], ids=['exact', 'padded'])
@pytest.mark.parametrize('shift', [0, 2], ids=['W-MSA', 'SW-MSA'])
def test_window_attention_equals_naive_reference(attn, size, shift):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, *size, 4, generator=gen)
    v = torch.randn(2, *size, 4, generator=gen)
    with torch.no_grad():
        ours = windowed(attn, x, v, window=4, shift=shift)
        ref = naive_attention(attn, x, v, window=4, shift=shift)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_shifted_windows_do_not_mix_the_wrapped_borders(attn):
    x = torch.randn(1, 8, 8, 4)
    v = torch.randn(1, 8, 8, 4)

    def changed(shift, at, probe):
        v2 = v.clone()
        v2[0, probe[0], probe[1]] += 10.0
        with torch.no_grad():
            a = windowed(attn, x, v, 4, shift)[0, at[0], at[1]]
            b = windowed(attn, x, v2, 4, shift)[0, at[0], at[1]]
        return (a - b).abs().max().item()

    # shifted by 2: (0, 0) and (7, 7) share a rolled window but not a region
    assert changed(2, (0, 0), (7, 7)) < 1e-6
    assert changed(2, (0, 0), (1, 1)) > 1e-3  # same region: they attend
    assert changed(2, (2, 2), (5, 5)) > 1e-3  # the window that straddles the regular grid
    # regular windows: (3, 3) is in the window of (0, 0), (4, 4) is not
    assert changed(0, (0, 0), (3, 3)) > 1e-3 and changed(0, (0, 0), (4, 4)) < 1e-6


def test_relative_position_index_and_mask_by_hand():
    # window 2: offsets (dy, dx) in {-1, 0, 1}^2 -> (dy + 1) * 3 + (dx + 1)
    expected = torch.tensor([[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]])
    torch.testing.assert_close(relative_position_index(2), expected)
    mask = shifted_window_mask(4, 4, window=2, shift=1)  # 4 windows of 4 tokens
    assert mask.shape == (4, 4, 4) and set(mask.unique().tolist()) == {0.0, MASK_VALUE}
    # rolled canvas: window 0 holds one region, the last window four (each token alone)
    assert (mask[0] == 0).all()
    torch.testing.assert_close(mask[3], MASK_VALUE * (1 - torch.eye(4)))
    # windows 1 and 2: two regions of two tokens each
    assert (mask[1] == 0).sum() == 8 and (mask[2] == 0).sum() == 8


def test_partition_round_trip_and_pure_attention():
    x = torch.randn(2, 6, 9, 3)
    xp = F.pad(x, (0, 0, 0, 3, 0, 0))
    torch.testing.assert_close(window_reverse(window_partition(xp, 3), 3, 6, 12), xp)
    q, k, v = torch.randn(3, 4, 2, 9, 5).unbind(0)
    bias = torch.randn(2, 9, 9)
    mask = torch.where(torch.rand(2, 9, 9) > 0.5, 0.0, MASK_VALUE)  # 2 windows per image
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=bias + mask.repeat(2, 1, 1)[:, None])
    torch.testing.assert_close(window_attention(q, k, v, bias, mask), ref, atol=1e-5, rtol=1e-5)


def test_crf_stage_shapes_and_released_data_flow():
    torch.manual_seed(0)
    crf = NeuralWindowCRF(in_channels=12, value_channels=8, dim=16, num_heads=2, window=7)
    assert [b.shift for b in crf.blocks] == [0, 3]
    x, v = torch.randn(2, 12, 10, 13), torch.randn(2, 8, 10, 13)
    out = crf(x, v)
    assert out.shape == (2, 16, 10, 13)
    # the closing LayerNorm normalises every pixel over channels
    torch.testing.assert_close(out.mean(1), torch.zeros(2, 10, 13), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match='differ in size'):
        crf(x, v[..., :-1])
