"""positive_map: the heads' positive activation never has a zero gradient at its bound."""
import math

import pytest
import torch

from tr2m.models.layers.image_ops import (
    MAP_ACTIVATIONS,
    dead_fraction,
    exp_clamped,
    exp_straight_through,
    map_activation,
    map_activation_slope,
    positive_map,
)


def test_straight_through_exp_keeps_the_value_bound_and_the_gradient():
    x = torch.tensor([-30.0, -20.0, 0.0, 3.0, 25.0], requires_grad=True)
    y = exp_straight_through(x)
    assert torch.allclose(y, torch.exp(x.detach().clamp(-20, 20)))  # same value as the clamp
    y.sum().backward()
    # d/dx = exp(clamp(x)): never zero, also past the bound (the old clamp gave 0 there)
    assert torch.allclose(x.grad, y.detach())
    x2 = x.detach().clone().requires_grad_(True)
    exp_clamped(x2).sum().backward()
    assert x2.grad[0] == 0 and x2.grad[-1] == 0 and x.grad[0] > 0 and x.grad[-1] > 0


def test_softplus_is_one_at_zero_linear_above_and_alive_below():
    x = torch.tensor([-30.0, 0.0, 50.0], requires_grad=True)
    y = positive_map(x, 'softplus')
    assert y[1].item() == pytest.approx(1.0) and y[2].item() == pytest.approx(
        50 + math.log(math.e - 1), rel=1e-6)
    assert (y > 0).all() and positive_map(torch.tensor(-200.0), 'softplus') > 0  # no underflow
    y.sum().backward()
    assert (x.grad > 0).all() and x.grad[2].item() == pytest.approx(1.0)


def test_modes_are_checked():
    x = torch.zeros(2)
    assert torch.equal(positive_map(x, 'exp_clamped'), torch.ones(2))
    assert torch.equal(positive_map(x, 'exp_st'), torch.ones(2))
    with pytest.raises(ValueError, match="must be one of .*got 'relu'"):
        positive_map(x, 'relu')


def test_bounded_and_signed_values():
    x = torch.tensor([-1e4, 0.0, 1e4])
    b = positive_map(x, 'bounded')
    shift = math.log(math.e - 1)
    softplus = torch.nn.functional.softplus
    # c * tanh(x / c) with c = 6: -6, 0, 6 -> softplus(u + log(e - 1)) + 1e-9
    expected = softplus(torch.tensor([-6.0, 0.0, 6.0]) + shift) + 1e-9
    assert torch.allclose(b, expected) and b[1].item() == pytest.approx(1.0)
    assert b[0].item() == pytest.approx(math.log1p(math.exp(-6 + shift)), rel=1e-6)  # 0.0042
    assert torch.equal(map_activation(x, 'signed'), x)  # the identity: B may be negative
    assert torch.equal(map_activation(x, 'bounded'), b)
    with pytest.raises(ValueError, match="must be one of .*got 'tanh'"):
        map_activation(x, 'tanh')


@pytest.mark.parametrize('mode', MAP_ACTIVATIONS)
def test_slope_is_the_autograd_derivative(mode):
    x = torch.linspace(-30, 30, 61, dtype=torch.float64).requires_grad_(True)
    map_activation(x, mode).sum().backward()
    assert torch.allclose(map_activation_slope(x.detach(), mode), x.grad)


def test_slope_hand_values():
    zero = torch.zeros(1)
    assert map_activation_slope(zero, 'softplus').item() == pytest.approx((math.e - 1) / math.e)
    assert map_activation_slope(zero, 'bounded').item() == pytest.approx((math.e - 1) / math.e)
    assert map_activation_slope(zero, 'exp_st').item() == 1.0
    assert map_activation_slope(torch.tensor([-1e4]), 'signed').item() == 1.0
    # softplus at -20: sigmoid(-20 + 0.541) = 3.5e-9 < 1e-6: dead; at -10: 5.8e-5: alive
    assert map_activation_slope(torch.tensor([-20.0]), 'softplus').item() == pytest.approx(
        1 / (1 + math.exp(20 - math.log(math.e - 1))), rel=1e-5)


def test_dead_fraction_fires_on_a_dead_map_only():
    dead = torch.full((2, 1, 8, 8), -1.3e4)  # the trained quickstart shift head
    assert dead_fraction(dead, 'softplus').item() == 1.0
    assert dead_fraction(dead, 'exp_st').item() == 1.0  # exp(-20) = 2e-9
    assert dead_fraction(dead, 'signed').item() == 0.0  # the identity never dies
    healthy = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    for mode in MAP_ACTIVATIONS:
        assert dead_fraction(healthy, mode).item() == 0.0
    half = torch.cat([dead[:1], healthy[:1]])
    assert dead_fraction(half, 'softplus').item() == 0.5
