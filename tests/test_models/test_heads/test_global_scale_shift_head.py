"""``GlobalScaleShiftHead`` (RSA): layout, initial values, activations."""
import pytest
import torch

from tr2m.models.heads import GlobalScaleShiftHead


def test_layout_and_initial_values():
    head = GlobalScaleShiftHead(1024, init_scale=0.2, init_shift=3.0)
    widths = [m.out_features for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [512, 256, 256, 128, 64, 1, 128, 64, 1]
    s, t = head(torch.randn(4, 1024))
    assert s.shape == t.shape == (4, 1, 1, 1)
    assert torch.allclose(s, torch.full_like(s, 0.2)) and torch.allclose(t, torch.full_like(t, 3.0))


def test_sigmoid_scale_and_validation():
    head = GlobalScaleShiftHead(8, channels=(8, 8), head_channels=(4,), scale_act='sigmoid',
                                init_scale=0.25)
    s, _ = head(torch.randn(2, 8))
    assert torch.allclose(s, torch.full_like(s, 0.25))
    with pytest.raises(ValueError):
        GlobalScaleShiftHead(8, scale_act='sigmoid', init_scale=2.0)
    with pytest.raises(ValueError):
        GlobalScaleShiftHead(8, scale_act='relu')
