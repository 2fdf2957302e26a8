"""``RescaleHead`` and ``SOCProjector``: shapes, positivity, initial value, paper sizes."""
import math

import torch

from tr2m.models.heads import RescaleHead, SOCProjector


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_map_shape_positive_and_initial_value():
    head = RescaleHead(16, channels=8, bias_init=0.5)  # softplus(0.5 + log(e - 1))
    out = head(torch.randn(2, 16, 4, 5), (30, 37))
    assert out.shape == (2, 1, 30, 37)
    expected = torch.nn.functional.softplus(torch.tensor(0.5 + math.log(math.e - 1))).item()
    assert torch.allclose(out, torch.full_like(out, expected))
    assert torch.allclose(RescaleHead(16, channels=8)(torch.randn(1, 16, 4, 5), (8, 8)),
                          torch.ones(1, 1, 8, 8))  # bias 0: output 1, as exp(0)
    exp_head = RescaleHead(16, channels=8, bias_init=0.5, activation='exp_st')
    out = exp_head(torch.randn(2, 16, 4, 5), (30, 37))
    assert torch.allclose(out, torch.full_like(out, math.exp(0.5)))
    torch.nn.init.normal_(head.out[-1].weight)
    out = head(torch.randn(2, 16, 4, 5), (30, 37))
    assert (out > 0).all() and out.std() > 0


def test_global_pool_gives_one_value_per_image():
    head = RescaleHead(16, channels=8, global_pool=True)
    torch.nn.init.normal_(head.out[-1].weight)
    out = head(torch.randn(3, 16, 4, 4), (10, 12))
    assert out.shape == (3, 1, 10, 12)
    flat = out.flatten(1)
    assert torch.allclose(flat, flat[:, :1].expand_as(flat))


def test_paper_sizes():
    # width 256 (DPT's): 9 D C + 78.5 C^2 (+ biases) = 7.51M per decoder; with the learnt neck
    # (6.04M) and the projector the paper setting trains 21.24M (paper: ~19M)
    c = 256
    assert count(RescaleHead(1024)) == 9 * 1024 * c + c + 2 * 4 * (9 * c * c + c) + \
        2 * (c * c + c) + 9 * c * (c // 2) + c // 2 + c // 2 + 1 == 7_506_945
    assert count(RescaleHead(1024, channels=288)) == 9_168_769  # the earlier, narrower-neck width
    assert count(SOCProjector(1024)) == 189_760  # paper: ~0.19M
    assert SOCProjector(1024)(torch.randn(1, 1024, 5, 7)).shape == (1, 160, 3, 4)


def test_act_cfg_sets_the_projection_activation():
    import pytest

    assert isinstance(RescaleHead(16, channels=8, act_cfg=dict(type='ReLU')).out[1],
                      torch.nn.ReLU)  # DPT's
    leaky = RescaleHead(16, channels=8)  # the default
    assert isinstance(leaky.out[1], torch.nn.LeakyReLU) and leaky.out[1].negative_slope == 0.1
    # a unit that is negative on every input still passes a gradient (a ReLU passes none)
    x = torch.full((1, 8, 3, 3), -1.0, requires_grad=True)
    leaky.out[1](x).sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, 0.1))
    assert count(leaky) == count(RescaleHead(16, channels=8))
    with pytest.raises(ValueError, match="act_cfg type must name a torch.nn module, got 'Nope'"):
        RescaleHead(16, channels=8, act_cfg=dict(type='Nope'))
