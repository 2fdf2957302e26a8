import math

import pytest
import torch

from tr2m.models.losses import SiLogLoss, silog_loss


def test_hand_computed():
    # e = log(pred) - log(target) = [0, 1, -2, 0.5] on the valid pixels, one pixel masked out
    target = torch.tensor([[[2.0, 1.0], [3.0, 0.5], [4.0, 1.0]]])
    err = torch.tensor([[[0.0, 1.0], [-2.0, 0.5], [7.0, 0.0]]])
    pred = target * err.exp()
    valid = torch.tensor([[[True, True], [True, True], [False, False]]])
    mean_sq = (0 + 1 + 4 + 0.25) / 4
    mean = (0 + 1 - 2 + 0.5) / 4
    expected = mean_sq - 0.15 * mean**2
    assert torch.allclose(silog_loss(pred, target, valid), torch.tensor(expected), atol=1e-6)
    assert torch.allclose(silog_loss(pred, target, valid, lambd=0.5),
                          torch.tensor(mean_sq - 0.5 * mean**2), atol=1e-6)


def test_zero_at_identity_on_real_gt(real_batch):
    depth, valid, _ = real_batch
    loss = silog_loss(depth, depth, valid)
    assert loss.abs().item() < 1e-7


def test_scale_invariant_with_lambda_one(real_batch):
    depth, valid, _ = real_batch
    gen = torch.Generator().manual_seed(0)
    pred = depth * torch.empty_like(depth).uniform_(0.7, 1.4, generator=gen) + 0.1
    base = silog_loss(pred, depth, valid, lambd=1.0)
    scaled = silog_loss(3.7 * pred, depth, valid, lambd=1.0)
    assert base.item() > 1e-3
    assert torch.allclose(base, scaled, rtol=1e-4)
    # the paper's lambda 0.15 is not scale invariant
    assert not torch.allclose(silog_loss(pred, depth, valid),
                              silog_loss(3.7 * pred, depth, valid), rtol=1e-2)


def test_ignores_masked_pixels_holding_nan_inf_zero():
    gen = torch.Generator().manual_seed(1)
    pred = torch.rand(2, 1, 5, 6, generator=gen) + 0.5
    target = torch.rand(2, 1, 5, 6, generator=gen) + 0.5
    valid = torch.rand(2, 1, 5, 6, generator=gen) > 0.4
    clean = silog_loss(pred, target, valid)
    bad_pred, bad_target = pred.clone(), target.clone()
    invalid = ~valid
    fill = torch.tensor([float('nan'), float('inf'), 0.0, -1.0])
    bad_pred[invalid] = fill[torch.arange(int(invalid.sum())) % 4]
    bad_target[invalid] = fill[(torch.arange(int(invalid.sum())) + 1) % 4]
    bad_pred.requires_grad_(True)
    dirty = silog_loss(bad_pred, bad_target, valid)
    assert torch.allclose(clean, dirty)
    dirty.backward()
    assert torch.isfinite(bad_pred.grad).all()
    assert (bad_pred.grad[invalid] == 0).all()


def test_image_without_valid_pixel_is_skipped():
    gen = torch.Generator().manual_seed(2)
    pred = torch.rand(2, 1, 4, 4, generator=gen) + 0.5
    target = torch.rand(2, 1, 4, 4, generator=gen) + 0.5
    valid = torch.ones(2, 1, 4, 4, dtype=torch.bool)
    valid[1] = False
    pred[1] = float('nan')
    only_first = silog_loss(pred[:1], target[:1], valid[:1])
    assert torch.allclose(silog_loss(pred, target, valid), only_first)


def test_no_valid_pixel_at_all_is_connected_zero():
    pred = torch.full((2, 1, 3, 3), float('nan'), requires_grad=True)
    loss = silog_loss(pred, torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3, dtype=torch.bool))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


def test_sqrt_variant_is_mean_of_per_image_roots():
    gen = torch.Generator().manual_seed(3)
    pred = torch.rand(3, 1, 4, 5, generator=gen) + 0.5
    target = torch.rand(3, 1, 4, 5, generator=gen) + 0.5
    valid = torch.ones_like(pred, dtype=torch.bool)
    per_image = [silog_loss(pred[i:i + 1], target[i:i + 1], valid[i:i + 1]) for i in range(3)]
    expected = sum(math.sqrt(v.item()) for v in per_image) / 3
    assert silog_loss(pred, target, valid, sqrt=True).item() == pytest.approx(expected, rel=1e-5)


def test_sparse_kitti_finite_gradients(load_frame, kitti_indices):
    depth = torch.stack([load_frame(i)[0] for i in kitti_indices])[:, None]
    valid = torch.stack([load_frame(i)[1] for i in kitti_indices])[:, None]
    assert valid.float().mean() < 0.5  # sparse LiDAR
    pred = torch.full_like(depth, 10.0, requires_grad=True)
    loss = silog_loss(pred, depth, valid)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    assert torch.isfinite(pred.grad).all()


def test_registry_build_and_weight():
    import tr2m.models  # noqa: F401  (registers every component)
    from tr2m.registry import MODELS

    module = MODELS.build(dict(type='SiLogLoss', loss_weight=2.0, lambd=0.5))
    assert isinstance(module, SiLogLoss)
    pred, target = torch.rand(2, 1, 3, 3) + 0.5, torch.rand(2, 1, 3, 3) + 0.5
    valid = torch.ones_like(pred, dtype=torch.bool)
    assert torch.allclose(module(pred, target, valid),
                          2.0 * silog_loss(pred, target, valid, lambd=0.5))


def test_zoedepth_form_hand_case():
    """10 * sqrt(var(e) + 0.15 mean(e)^2) per image (biased variance), then the mean."""
    target = torch.tensor([[[[1.0, 2.0, 4.0, 8.0]]], [[[3.0, 3.0, 3.0, 3.0]]]])
    factors = torch.tensor([[[[1.0, 2.0, 1.0, 0.5]]], [[[1.5, 1.5, 1.5, 1.5]]]])
    pred = target * factors
    valid = torch.ones_like(target, dtype=torch.bool)
    e = factors.log().flatten(1)
    expected = 10 * torch.sqrt(e.var(1, unbiased=False) + 0.15 * e.mean(1) ** 2)
    zoe = SiLogLoss(form='zoedepth')(pred, target, valid)
    torch.testing.assert_close(zoe, expected.mean())
    paper = SiLogLoss(form='paper')(pred, target, valid)
    torch.testing.assert_close(paper, ((e ** 2).mean(1) - 0.15 * e.mean(1) ** 2).mean())
    # ZoeDepth pools the batch's pixels
    pooled = SiLogLoss(form='zoedepth', reduction='batch')(pred, target, valid)
    ef = e.flatten()
    torch.testing.assert_close(pooled, 10 * torch.sqrt(ef.var(unbiased=False)
                                                       + 0.15 * ef.mean() ** 2))
    # image 1 is off by a constant factor: the ZoeDepth form keeps sqrt(0.15) of it
    torch.testing.assert_close(
        SiLogLoss(form='zoedepth')(pred[1:], target[1:], valid[1:]),
        10 * (0.15 ** 0.5) * torch.log(torch.tensor(1.5)))
    with pytest.raises(ValueError, match='form'):
        SiLogLoss(form='eigen')
    with pytest.raises(ValueError, match='reduction'):
        SiLogLoss(reduction='pixel')


def test_reductions_on_a_mixed_batch_hand_values():
    """Per-image mean of square roots ('image') against ZoeDepth's pooled loss ('batch') on a
    batch of one spread image and one off by a constant factor (values worked by hand)."""
    target = torch.tensor([[[[1.0, 2.0, 4.0, 8.0]]], [[[3.0, 3.0, 3.0, 3.0]]]])
    factors = torch.tensor([[[[1.0, 2.0, 1.0, 0.5]]], [[[1.5, 1.5, 1.5, 1.5]]]])
    pred, valid = target * factors, torch.ones_like(target, dtype=torch.bool)
    # image 0: e = (0, ln2, 0, -ln2), mean 0, var ln2^2 / 2 -> 10 ln2 / sqrt(2) = 4.90129
    # image 1: e = ln1.5 everywhere, var 0 -> 10 sqrt(0.15) ln1.5 = 1.57036
    per_image = SiLogLoss(form='zoedepth', reduction='image')(pred, target, valid)
    assert per_image.item() == pytest.approx((4.901291 + 1.570360) / 2, abs=1e-5)  # 3.23583
    # pooled: mean ln1.5 / 2 = 0.202733, var = (2 ln2^2 + 4 ln1.5^2) / 8 - 0.041101 = 0.161213
    # -> 10 sqrt(0.161213 + 0.15 * 0.041101) = 4.09120
    pooled = SiLogLoss(form='zoedepth', reduction='batch')(pred, target, valid)
    assert pooled.item() == pytest.approx(4.091196, abs=1e-5)
    assert pooled.item() / per_image.item() == pytest.approx(1.2643, abs=1e-4)
    # the paper form (no square root) differs less: 0.189984 per image, 0.196149 pooled
    assert SiLogLoss(form='paper')(pred, target, valid).item() == pytest.approx(0.189984,
                                                                                abs=1e-6)
    assert SiLogLoss(form='paper', reduction='batch')(pred, target, valid).item() == \
        pytest.approx(0.196149, abs=1e-6)
