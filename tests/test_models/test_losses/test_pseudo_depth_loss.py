import numpy as np
import pytest
import torch

from tr2m.models.losses import (
    ThresholdedPseudoDepthLoss,
    fit_scale_shift,
    pseudo_metric_depth,
    silog_loss,
)

ALPHAS = [2.5, 0.3, 7.0, 1.1, 0.05, 40.0, 3.3, 0.8]
BETAS = [0.1, -0.05, 0.02, 0.3, -0.01, 1.5, 0.0, -0.2]


def _planted_rel(depth, valid, space, fill):
    """Relative maps with ``alpha * rel + beta`` equal to the target; holes hold ``fill``."""
    batch = depth.shape[0]
    alpha = torch.tensor(ALPHAS[:batch], dtype=torch.float64)
    beta = torch.tensor(BETAS[:batch], dtype=torch.float64)
    d64 = torch.where(valid, depth.double(), torch.ones_like(depth.double()))
    target = 1.0 / d64 if space == 'inverse' else d64
    rel = (target - beta.view(-1, 1, 1, 1)) / alpha.view(-1, 1, 1, 1)
    return torch.where(valid, rel, fill.double()), alpha, beta


def _holes(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    fill = torch.randn(shape, generator=gen) * 100
    flat = fill.view(-1)
    flat[::97] = float('nan')
    flat[1::97] = float('inf')
    return fill


@pytest.mark.parametrize('space', ['inverse', 'depth'])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_fit_recovers_planted_scale_shift_on_real_gt(real_batch, space, dtype):
    depth, valid, _ = real_batch
    rel, alpha, beta = _planted_rel(depth, valid, space, _holes(depth.shape, 0))
    rel = rel.to(dtype)
    d64 = depth.double()
    target = torch.where(valid, 1.0 / d64 if space == 'inverse' else d64, torch.nan).to(dtype)
    fit_a, fit_b = fit_scale_shift(rel, target, valid)
    assert fit_a.shape == fit_b.shape == (depth.shape[0], 1)
    assert fit_a.dtype == dtype
    rtol = 1e-4 if dtype == torch.float32 else 1e-9
    assert torch.allclose(fit_a.double().flatten(), alpha, rtol=rtol)
    # beta is compared relative to the target's scale (it may be 0)
    scale = target.double().nan_to_num(0).abs().flatten(1).amax(1)
    assert ((fit_b.double().flatten() - beta).abs() <= rtol * scale).all()

    pseudo, delta1 = pseudo_metric_depth(rel, depth.to(dtype), valid, space)
    assert torch.equal(delta1.flatten(), torch.ones(depth.shape[0], dtype=delta1.dtype))
    assert torch.allclose(pseudo[valid].double(), depth[valid].double(), rtol=1e-3)


def test_fit_matches_numpy_lstsq_on_noisy_real_gt(real_batch):
    depth, valid, _ = real_batch
    gen = torch.Generator().manual_seed(4)
    rel = 1.0 / depth.clamp_min(0.1) * (1 + 0.2 * torch.randn(depth.shape, generator=gen))
    rel = torch.where(valid, rel, torch.nan)
    alpha, beta = fit_scale_shift(rel, depth, valid)
    for i in range(depth.shape[0]):
        m = valid[i, 0].numpy()
        x = rel[i, 0].numpy()[m].astype(np.float64)
        y = depth[i, 0].numpy()[m].astype(np.float64)
        (a_ref, b_ref), *_ = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)
        assert alpha[i, 0].item() == pytest.approx(a_ref, rel=1e-4, abs=1e-6)
        assert beta[i, 0].item() == pytest.approx(b_ref, rel=1e-4, abs=1e-6)


def test_fit_degenerate_images_are_safe():
    x = torch.tensor([[[1.0, 2.0], [3.0, 4.0]],    # no valid pixel
                      [[5.0, 2.0], [3.0, 4.0]],    # one valid pixel
                      [[2.0, 2.0], [2.0, 9.0]],    # constant x on the valid pixels
                      [[1.0, 2.0], [3.0, 4.0]]])   # regular
    y = torch.tensor([[[1.0, 1.0], [1.0, 1.0]],
                      [[7.0, 1.0], [1.0, 1.0]],
                      [[1.0, 2.0], [6.0, 0.0]],
                      [[3.0, 5.0], [7.0, 9.0]]])
    valid = torch.tensor([[[False, False], [False, False]],
                          [[True, False], [False, False]],
                          [[True, True], [True, False]],
                          [[True, True], [True, True]]])
    alpha, beta = fit_scale_shift(x, y, valid)
    # no valid pixel: the identity (1, 0), the rule shared with the evaluation's alignments
    assert torch.allclose(alpha, torch.tensor([1.0, 0.0, 0.0, 2.0]))
    assert torch.allclose(beta, torch.tensor([0.0, 7.0, 3.0, 1.0]))
    pseudo, delta1 = pseudo_metric_depth(x, y.clamp_min(0.5), valid, 'depth')
    assert torch.isfinite(delta1).all() and delta1[0] == 0 and delta1[3] == 1
    _, delta1_inv = pseudo_metric_depth(x, y.clamp_min(0.5), valid, 'inverse')
    assert torch.isfinite(delta1_inv).all() and delta1_inv[0] == 0


def test_unknown_space_raises():
    x = torch.rand(1, 4, 4)
    with pytest.raises(ValueError, match='space'):
        pseudo_metric_depth(x, x + 1, x > 0, space='log')
    with pytest.raises(ValueError, match='space'):
        ThresholdedPseudoDepthLoss(space='disparity')


def test_delta1_hand_case_counts_non_positive_pseudo_as_failure():
    # depth space, points (0, 10), (1, 0.1), (2, 0.1): alpha = -4.95, beta = 8.35
    rel = torch.tensor([[[0.0, 1.0, 2.0, 7.0]]])
    gt = torch.tensor([[[10.0, 0.1, 0.1, -3.0]]])
    valid = torch.tensor([[[True, True, True, True]]])  # the negative GT is dropped anyway
    alpha, beta = fit_scale_shift(rel, gt, valid & (gt > 0))
    assert alpha.item() == pytest.approx(-4.95) and beta.item() == pytest.approx(8.35)
    pseudo, delta1 = pseudo_metric_depth(rel, gt, valid, 'depth')
    assert torch.allclose(pseudo, torch.tensor([[[8.35, 3.4, -1.55, 8.35 - 4.95 * 7]]]))
    # 10 / 8.35 < 1.25 passes, 3.4 / 0.1 fails, the negative pseudo fails
    assert delta1.item() == pytest.approx(1 / 3)
    # inverse space: 1 / gt = [0.1, 10, 10] on rel = [0, 1, 2] -> 1/pseudo = 3.4 - 0.15 + ...
    _, delta1_inv = pseudo_metric_depth(rel, gt, valid, 'inverse')
    lin = torch.tensor([0.0, 1.0, 2.0]) * 4.95 + 1.75
    ratio = torch.maximum(1 / lin / gt[0, 0, :3], gt[0, 0, :3] * lin)
    assert delta1_inv.item() == pytest.approx((ratio < 1.25).float().mean().item())


def _affine_inverse_rel(depth, valid, seed, noise=0.02):
    """What a good relative model would give: affine of inverse GT, holes filled arbitrarily."""
    gen = torch.Generator().manual_seed(seed)
    inv = 1.0 / torch.where(valid, depth, torch.ones_like(depth))
    rel = 3.0 * inv * (1 + noise * torch.randn(depth.shape, generator=gen)) + 0.4
    low, high = rel[valid].min(), rel[valid].max()
    holes = low + torch.rand(depth.shape, generator=gen) * (high - low)
    return torch.where(valid, rel, holes)


def test_gate_real_relative_passes_noise_fails(real_batch):
    depth, valid, _ = real_batch
    good = _affine_inverse_rel(depth, valid, seed=5)
    noise = torch.rand(depth.shape, generator=torch.Generator().manual_seed(6))
    _, d_good = pseudo_metric_depth(good, depth, valid)
    _, d_noise = pseudo_metric_depth(noise, depth, valid)
    assert (d_good > 0.9).all()
    assert (d_noise < 0.9).all()
    loss = ThresholdedPseudoDepthLoss()
    pred = torch.full_like(depth, 2.0)
    _, frac_good = loss(pred, good, depth, valid)
    _, frac_noise = loss(pred, noise, depth, valid)
    assert frac_good.shape == (depth.shape[0],)  # the gate of each image
    assert (frac_good == 1.0).all()
    assert (frac_noise == 0.0).all()


def _reference_loss(pred, rel, gt, valid, rho, space, lambd, min_valid):
    """Naive per-image loop with numpy least squares."""
    losses, passed = [], 0
    for i in range(pred.shape[0]):
        m = (valid[i] & torch.isfinite(gt[i]) & (gt[i] > 0)).numpy()
        x = rel[i].double().numpy()
        g = gt[i].double().numpy()
        if m.sum() < min_valid:
            continue
        y = 1.0 / g[m] if space == 'inverse' else g[m]
        (a, b), *_ = np.linalg.lstsq(np.stack([x[m], np.ones(m.sum())], 1), y, rcond=None)
        lin = a * x + b
        with np.errstate(divide='ignore'):
            pseudo = 1.0 / lin if space == 'inverse' else lin
        pv = pseudo[m]
        ok = (pv > 0) & np.isfinite(pv)
        ratio = np.maximum(pv[ok] / g[m][ok], g[m][ok] / pv[ok])
        delta1 = (ratio < 1.25).sum() / m.sum()
        if delta1 <= rho:
            continue
        passed += 1
        target_mask = torch.from_numpy(np.isfinite(pseudo) & (pseudo > 0))
        target = torch.from_numpy(np.where(target_mask.numpy(), pseudo, 1.0)).float()
        losses.append(silog_loss(pred[i:i + 1], target[None], target_mask[None], lambd))
    loss = torch.stack(losses).mean() if losses else torch.tensor(0.0)
    return loss, passed / pred.shape[0]


@pytest.mark.parametrize('space', ['inverse', 'depth'])
def test_module_equals_naive_loop(real_batch, space):
    depth, valid, _ = real_batch
    batch = depth.shape[0]
    gen = torch.Generator().manual_seed(7)
    good = _affine_inverse_rel(depth, valid, seed=8)
    if space == 'depth':
        good = 2.0 * torch.where(valid, depth, good) + 0.3  # affine of depth, holes kept
    noise = torch.rand(depth.shape, generator=gen)
    use_good = (torch.arange(batch) % 3 != 1).view(-1, 1, 1, 1)  # a mix of passing and failing
    rel = torch.where(use_good, good, noise)
    valid = valid.clone()
    valid[0, 0, :, : valid.shape[-1] // 2] = False  # half-empty image still passes
    pred = (depth.mean() * (0.5 + torch.rand(depth.shape, generator=gen))).requires_grad_(True)
    module = ThresholdedPseudoDepthLoss(rho=0.8, space=space, lambd=0.15, loss_weight=0.5)
    loss, frac = module(pred, rel, depth, valid)
    ref, ref_frac = _reference_loss(pred.detach(), rel, depth, valid, 0.8, space, 0.15, 16)
    assert 0 < ref_frac < 1
    assert frac.mean().item() == pytest.approx(ref_frac)
    assert loss.item() == pytest.approx(0.5 * ref.item(), rel=1e-4)
    loss.backward()
    assert torch.isfinite(pred.grad).all()
    failing = ~use_good.flatten()
    assert (pred.grad[failing] == 0).all()  # failed images contribute nothing


def test_supervises_pixels_without_gt(load_frame, kitti_indices):
    depth, valid, _ = load_frame(kitti_indices[0])
    depth, valid = depth[None, None], valid[None, None]
    rel = _affine_inverse_rel(depth, valid, seed=9)
    pred = torch.full_like(depth, 5.0, requires_grad=True)
    loss, frac = ThresholdedPseudoDepthLoss()(pred, rel, depth, valid)
    loss.backward()
    assert frac.item() == 1.0
    assert (pred.grad[~valid] != 0).float().mean() > 0.99  # dense supervision in the holes


def test_protocol_cap_per_image():
    """KITTI-like sky: Dr ~ 0 fits to huge pseudo depths; each image's own cap drops them."""
    gt = torch.full((2, 1, 8, 8), 4.0)
    gt[:, :, 4:] = 2.0
    valid = torch.ones_like(gt, dtype=torch.bool)
    valid[:, :, :2] = False  # the "sky" rows have no GT
    rel = 1.0 / gt
    rel[:, :, :2] = 1e-4  # -> pseudo ~ 1e4 m there
    pred = torch.full_like(gt, 3.0, requires_grad=True)
    module = ThresholdedPseudoDepthLoss(loss_weight=1.0)  # max_depth='protocol'
    uncapped, _ = module(pred, rel, gt, valid)  # no cap given: every positive target
    loss, passed = module(pred, rel, gt, valid, max_depth=torch.tensor([10.0, float('inf')]))
    loss.backward()
    assert (passed == 1).all()
    assert (pred.grad[0, :, :2] == 0).all()  # image 0: the sky targets (1e4 m > 10 m) dropped
    assert (pred.grad[1, :, :2] != 0).all()  # image 1: no cap
    fixed, _ = ThresholdedPseudoDepthLoss(max_depth=10.0, loss_weight=1.0)(
        pred, rel, gt, valid, max_depth=torch.tensor([1.0, 1.0]))  # a number beats the protocol
    capped_both, _ = module(pred, rel, gt, valid, max_depth=10.0)
    assert fixed.item() == pytest.approx(capped_both.item())
    assert uncapped.item() > capped_both.item()
    with pytest.raises(ValueError, match='max_depth'):
        ThresholdedPseudoDepthLoss(max_depth='dataset')


def test_min_valid_and_max_depth():
    gt = torch.full((2, 1, 8, 8), 2.0)
    gt[:, :, :4] = 4.0
    valid = torch.ones_like(gt, dtype=torch.bool)
    valid[1] = False
    valid[1, 0, 0, :5] = True  # 5 pixels: a perfect fit, but below min_valid
    rel = 1.0 / gt
    pred = torch.full_like(gt, 3.0, requires_grad=True)
    loss, frac = ThresholdedPseudoDepthLoss(min_valid=16)(pred, rel, gt, valid)
    assert frac.tolist() == [1.0, 0.0]
    _, frac_low = ThresholdedPseudoDepthLoss(min_valid=5)(pred, rel, gt, valid)
    assert frac_low.tolist() == [1.0, 1.0]
    # max_depth drops the far pseudo pixels: only the 2 m half is used -> e = log 1.5 constant
    capped, _ = ThresholdedPseudoDepthLoss(max_depth=3.0, loss_weight=1.0)(pred, rel, gt, valid)
    e = np.log(1.5)
    assert capped.item() == pytest.approx(e * e * 0.85, rel=1e-5)


def test_no_image_passes_connected_zero_and_no_grad_to_target(real_batch):
    depth, valid, _ = real_batch
    rel = torch.rand(depth.shape, generator=torch.Generator().manual_seed(10))
    rel.requires_grad_(True)
    pred = torch.full_like(depth, float('nan')).requires_grad_(True)
    loss, frac = ThresholdedPseudoDepthLoss()(pred, rel, depth, valid)
    assert (frac == 0.0).all() and loss.item() == 0.0
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))
    assert rel.grad is None


def test_sparse_kitti_and_empty_frame_are_finite(load_frame, kitti_indices):
    frames = [load_frame(i) for i in kitti_indices]
    depth = torch.stack([f[0] for f in frames] + [torch.zeros_like(frames[0][0])])[:, None]
    valid = torch.stack([f[1] for f in frames] + [torch.zeros_like(frames[0][1])])[:, None]
    rel = _affine_inverse_rel(depth, valid, seed=11).requires_grad_(True)
    pred = torch.full_like(depth, 8.0, requires_grad=True)
    for space in ('inverse', 'depth'):
        loss, frac = ThresholdedPseudoDepthLoss(space=space, rho=0.0)(pred, rel, depth, valid)
        loss.backward()
        assert torch.isfinite(loss) and loss.item() > 0
        assert frac.mean().item() == pytest.approx(len(frames) / (len(frames) + 1))
        assert torch.isfinite(pred.grad).all()
        assert (pred.grad[-1] == 0).all()
        assert rel.grad is None
    # a batch of only the empty frame
    empty_loss, empty_frac = ThresholdedPseudoDepthLoss()(pred[-1:], rel[-1:], depth[-1:],
                                                          valid[-1:])
    assert empty_loss.item() == 0.0 and empty_frac.item() == 0.0


def test_registry_build():
    import tr2m.models  # noqa: F401
    from tr2m.registry import MODELS

    module = MODELS.build(dict(type='ThresholdedPseudoDepthLoss', rho=0.7, space='depth'))
    assert isinstance(module, ThresholdedPseudoDepthLoss)
    assert (module.rho, module.space, module.loss_weight) == (0.7, 'depth', 0.5)
    assert (module.form, module.silog_kwargs['lambd'], module.max_depth) == \
        ('paper', 0.15, 'protocol')
    zoe = MODELS.build(dict(type='ThresholdedPseudoDepthLoss', form='zoedepth', beta=0.2))
    assert zoe.silog_kwargs == dict(lambd=0.8, sqrt=True, scale=10.0, reduction='image')


def test_module_rejects_mismatched_shapes():
    gt = torch.rand(2, 1, 4, 4) + 1
    with pytest.raises(ValueError, match='one shape'):
        ThresholdedPseudoDepthLoss()(gt, gt[:, 0], gt, gt > 0)
