"""TR2M's shift options (paper exp, softplus, signed, bounded, relative) and the dead-map
monitor: hand-checked forward values, the gradient that reaches the shift head, and
``shift_dead_frac`` on a constructed dead map and a healthy one."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData

from tr2m.models.depthers import TR2M

REL = dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None)
IMG = dict(type='DINOv2Encoder', arch='vit_tiny14', pretrained=None)
TXT = dict(type='CLIPTextEncoder', arch='tiny', pretrained=None)
SHIFT = math.log(math.e - 1)  # softplus(0 + SHIFT) = 1


def build(shift_act='softplus', shift_bias=0.0, shift_form='absolute', scale_bias=0.0):
    torch.manual_seed(0)
    return TR2M(relative_depth=REL, image_encoder=IMG, text_encoder=TXT,
                neck=dict(type='CrossModalAttentionNeck', num_heads=2),
                scale_head=dict(type='RescaleHead', channels=8, bias_init=scale_bias),
                shift_head=dict(type='RescaleHead', channels=8, bias_init=shift_bias,
                                activation=shift_act),
                shift_form=shift_form)


def with_rel(batch):
    """The batch with a precomputed ``Dr``: a ramp 0.05 .. 1 down the rows (the random tiny
    relative model gives ~1e-7 everywhere, too flat to test eq. 3 on)."""
    inputs, samples = batch
    h, w = inputs.shape[-2:]
    ramp = torch.linspace(0.05, 1.0, h)[:, None].expand(h, w)[None].contiguous()
    for s in samples:
        s.rel_depth = PixelData(data=ramp)
    return inputs, samples


def softplus(v):
    return math.log1p(math.exp(v + SHIFT))


# (shift activation, bias, form) -> B for A = softplus(0.5 + SHIFT) (the scale head's
# last conv starts with zero weights, so each map is its activation of the bias everywhere)
A = softplus(0.5)
CASES = {
    'exp': ('exp_st', -1.0, 'absolute', math.exp(-1.0)),
    'softplus': ('softplus', -1.0, 'absolute', softplus(-1.0)),
    'signed': ('signed', -0.25, 'absolute', -0.25),
    'bounded': ('bounded', -3.0, 'absolute', softplus(6 * math.tanh(-0.5))),  # c tanh(x / c)
    'relative': ('softplus', -1.0, 'relative', A * softplus(-1.0)),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_shift_options_forward_and_backward(name, depth_batch):
    act, bias, form, b_expected = CASES[name]
    model = build(act, bias, form, scale_bias=0.5)
    inputs, samples = with_rel(depth_batch())
    model.train()
    out = model._run(inputs, samples)
    scale, shift, rel = out['scale'], out['shift'], out['rel']
    assert torch.allclose(scale, torch.full_like(scale, A), rtol=1e-5)
    assert torch.allclose(shift, torch.full_like(shift, b_expected), rtol=1e-5, atol=1e-9)
    denom = A * rel + b_expected
    assert torch.allclose(out['depth'], 1 / denom.clamp_min(1e-8), rtol=1e-4)  # eq. 3
    assert out['nonpos'].item() == (denom < 1e-8).sum().item()  # floor hits counted
    # backward: the shift head's last bias gets sum(dL/dB * dB/db) (chain rule by hand)
    shift.retain_grad()
    loss = out['depth'].clamp_max(100).mean()
    loss.backward()
    grad_b = model.shift_head.out[-1].bias.grad.item()
    sigmoid = 1 / (1 + math.exp(-(bias + SHIFT)))
    u = 6 * math.tanh(bias / 6)
    slope = {'exp_st': math.exp(bias), 'softplus': sigmoid, 'signed': 1.0,
             'bounded': (1 - math.tanh(bias / 6) ** 2) / (1 + math.exp(-(u + SHIFT)))}[act]
    factor = A if form == 'relative' else 1.0
    assert grad_b == pytest.approx(shift.grad.sum().item() * factor * slope, rel=1e-4,
                                   abs=1e-12)
    if name == 'signed':  # Dr < 0.25 / A = 0.215: the floor; above it a live gradient
        assert 0 < out['nonpos'].item() < rel.numel() and grad_b != 0


def test_signed_shift_hits_the_floor_and_counts_it(depth_batch):
    model = build('signed', -1e3)  # B = -1000: every denominator below the floor
    inputs, samples = depth_batch()
    model.train()
    losses = model(inputs, samples, mode='loss')
    assert losses['nonpos_denom_px'].item() == inputs.shape[0] * inputs.shape[-2] * inputs.shape[-1]
    assert losses['shift_dead_frac'].item() == 0.0  # the identity passes every gradient
    assert losses['denom_dead_frac'].item() == 1.0  # ... but the floor passes none


def test_monitor_on_a_dead_and_a_healthy_shift(depth_batch):
    inputs, samples = depth_batch()
    dead = build('softplus', -1.3e4)  # the trained quickstart shift head
    dead.train()
    losses = dead(inputs, samples, mode='loss')
    assert losses['shift_dead_frac'].item() == 1.0
    assert losses['scale_dead_frac'].item() == 0.0
    healthy = build('softplus', 0.0)
    healthy.train()
    torch.nn.init.normal_(healthy.shift_head.out[-1].weight, std=0.5)
    losses = healthy(inputs, samples, mode='loss')
    assert losses['shift_dead_frac'].item() == 0.0
    assert losses['denom_dead_frac'].item() == 0.0
    assert not any('loss' in k for k in ('shift_dead_frac', 'scale_dead_frac'))
    # the monitor can be switched off; predict never logs it
    off = TR2M(relative_depth=REL, image_encoder=IMG, text_encoder=TXT,
               neck=dict(type='CrossModalAttentionNeck', num_heads=2),
               scale_head=dict(type='RescaleHead', channels=8),
               shift_head=dict(type='RescaleHead', channels=8), monitor_maps=False)
    off.train()
    assert 'shift_dead_frac' not in off(inputs, samples, mode='loss')


def test_bad_shift_options_are_refused():
    with pytest.raises(ValueError, match="shift_form must be one of .*got 'scaled'"):
        build(shift_form='scaled')
    with pytest.raises(ValueError, match="scale_head activation 'signed'"):
        TR2M(relative_depth=REL, image_encoder=IMG, text_encoder=TXT,
             neck=dict(type='CrossModalAttentionNeck', num_heads=2),
             scale_head=dict(type='RescaleHead', channels=8, activation='signed'),
             shift_head=dict(type='RescaleHead', channels=8))
    with pytest.raises(ValueError, match="relative.*needs both heads"):
        TR2M(relative_depth=REL, image_encoder=IMG, text_encoder=TXT,
             neck=dict(type='CrossModalAttentionNeck', num_heads=2),
             scale_head=dict(type='RescaleHead', channels=8), shift_head=None,
             shift_form='relative')
    with pytest.raises(ValueError, match="activation must be one of"):
        build(shift_act='relu')


def test_relative_gradient_reaches_the_scale_through_b(depth_batch):
    # B = A * b: the scale head also receives dL/dB * b
    model = build('softplus', 0.0, 'relative')
    inputs, samples = depth_batch()
    out = model._run(inputs, samples)
    assert torch.allclose(out['shift'], out['scale'] * F.softplus(torch.tensor(SHIFT)))
