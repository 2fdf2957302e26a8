"""``GlobalScaleShiftHead`` (RSA's released ``LanScaleModel``): layout, parameter count,
``exp`` on both outputs, initialisation, the compact preset, loading RSA's checkpoints."""
import pytest
import torch
from torch import nn

from tr2m.models.heads import GlobalScaleShiftHead
from tr2m.models.heads.global_scale_shift_head import load_released_state_dict


def _linears(net):
    return [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)]


def test_released_layout_and_parameter_count():
    head = GlobalScaleShiftHead(1024)
    assert _linears(head.scene) == [(1024, 512), (512, 512), (512, 512), (512, 256), (256, 256)]
    for net in (head.scale, head.shift):
        assert _linears(net) == [(256, 256), (256, 128), (128, 128), (128, 64), (64, 1)]
    # LeakyReLU (0.01) strictly between the linears of each net, none after a net's last
    for net in (head.scene, head.scale, head.shift):
        kinds = [type(m) for m in net]
        assert kinds[::2] == [nn.Linear] * (len(net) // 2 + 1)
        assert all(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.01 for m in net[1::2])
    # RSA with CLIP RN50: sum of (in + 1) * out over the 15 linears
    count = sum(p.numel() for p in head.parameters())
    assert count == 1_494_274
    assert sum(p.numel() for p in head.scene.parameters()) == 1_247_232
    assert sum(p.numel() for p in head.scale.parameters()) == 123_521
    assert sum(p.numel() for p in GlobalScaleShiftHead(384).parameters()) == 1_166_594  # MiniLM


def test_exp_on_both_outputs():
    torch.manual_seed(0)
    head = GlobalScaleShiftHead(16, channels=(8, 8), head_channels=(4,))
    emb = torch.randn(5, 16)
    s, t = head(emb)
    assert s.shape == t.shape == (5, 1, 1, 1)
    code = head.scene(emb)
    assert torch.allclose(s.flatten(), head.scale(code).exp().flatten())
    assert torch.allclose(t.flatten(), head.shift(code).exp().flatten())
    # a negative log-output gives a value in (0, 1): exp, not a sigmoid or a ReLU
    with torch.no_grad():
        head.scale[-1].weight.zero_()
        head.scale[-1].bias.fill_(-3.0)
        head.shift[-1].weight.zero_()
        head.shift[-1].bias.fill_(4.0)
    s, t = head(emb)
    assert torch.allclose(s, torch.full_like(s, torch.tensor(-3.0).exp().item()))
    assert torch.allclose(t, torch.full_like(t, torch.tensor(4.0).exp().item()))


def test_default_init_is_pytorch_and_explicit_init():
    torch.manual_seed(0)
    head = GlobalScaleShiftHead(32, channels=(16, 16), head_channels=(8,))
    torch.manual_seed(0)
    ref = nn.Linear(32, 16)  # the first layer drawn first, with PyTorch's default init
    assert torch.equal(head.scene[0].weight, ref.weight)
    assert head.scale[-1].weight.abs().sum() > 0
    s, _ = head(torch.randn(6, 32))
    assert s.std() > 0  # image dependent from the start
    fixed = GlobalScaleShiftHead(32, channels=(16, 16), head_channels=(8,), init_scale=0.2,
                                 init_shift=3.0)
    s, t = fixed(torch.randn(6, 32))
    assert torch.allclose(s, torch.full_like(s, 0.2)) and torch.allclose(t, torch.full_like(t, 3.0))
    with pytest.raises(ValueError, match='init_scale'):
        GlobalScaleShiftHead(8, init_scale=0.0)
    with pytest.raises(ValueError, match='arch'):
        GlobalScaleShiftHead(8, arch='sigmoid')


def test_compact_preset_is_the_previous_layout():
    head = GlobalScaleShiftHead(1024, arch='compact')
    assert _linears(head.scene) == [(1024, 512), (512, 256), (256, 256)]
    assert _linears(head.scale) == [(256, 128), (128, 64), (64, 1)]
    assert sum(p.numel() for p in head.parameters()) == 804_354


def test_loads_released_checkpoint_and_own_state_dict(tmp_path):
    torch.manual_seed(1)
    src = GlobalScaleShiftHead(24, channels=(16, 8), head_channels=(8, 4))
    emb = torch.randn(3, 24)
    want = src(emb)
    # RSA's layout: {'global_step', 'model': LanScaleModel state dict (DataParallel prefix)}
    names = {'scene.': 'scene_feat_net.', 'scale.': 'scale_net.', 'shift.': 'shift_net.'}
    released = {}
    for k, v in src.state_dict().items():
        for ours, theirs in names.items():
            if k.startswith(ours):
                released['module.' + theirs + k[len(ours):]] = v
    torch.save({'global_step': 10, 'model': released,
                'best_eval_measures_nyu': torch.zeros(9)}, tmp_path / 'da_ckpt')
    torch.save(src.state_dict(), tmp_path / 'head.pth')
    assert set(load_released_state_dict(str(tmp_path / 'da_ckpt'))) == set(src.state_dict())
    for name in ('da_ckpt', 'head.pth'):
        head = GlobalScaleShiftHead(24, channels=(16, 8), head_channels=(8, 4),
                                    pretrained=str(tmp_path / name))
        got = head(emb)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    with pytest.raises(RuntimeError, match='head weights'):
        GlobalScaleShiftHead(24, pretrained=str(tmp_path / 'head.pth'))  # other widths
    with pytest.raises(RuntimeError, match='not found'):
        GlobalScaleShiftHead(24, pretrained=str(tmp_path / 'missing.pth'))
