"""positive_map: the heads' positive activation never has a zero gradient at its bound."""
import math

import pytest
import torch

from tr2m.models.layers.image_ops import exp_clamped, exp_straight_through, positive_map


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
