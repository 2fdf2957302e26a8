"""tr2m/functional/{masks,metrics,align}.py: masks, metrics and alignment against hand cases
and a numpy reference on real frames."""
import math

import numpy as np
import pytest
import torch

from tr2m.functional import (
    METRIC_KEYS,
    align_global,
    align_lsq,
    align_lsq_inverse,
    align_median,
    compute_depth_metrics,
    crop_box,
    depth_metric_sums,
    eval_mask,
    fit_global_scale_shift,
    metrics_from_sums,
    scale_shift_sums,
    solve_scale_shift,
)

LN2 = math.log(2.0)


def _close(metrics, expected, tol=1e-12):
    assert set(metrics) == set(METRIC_KEYS)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, rel=tol, abs=tol), key


# ----------------------------------------------------------------------------- metrics by hand

def test_metrics_hand_case_symmetric_errors():
    pred = torch.tensor([1.0, 2.0, 4.0])
    gt = torch.tensor([2.0, 2.0, 2.0])
    m = compute_depth_metrics(pred, gt, torch.ones(3, dtype=torch.bool))
    # |p-g|/g = 0.5, 0, 1; (p-g)^2 = 1, 0, 4; e = log p - log g = -ln2, 0, ln2; ratios 2, 1, 2
    _close(m, dict(
        abs_rel=(0.5 + 0 + 1) / 3,
        sq_rel=(1 / 2 + 0 + 4 / 2) / 3,
        rmse=math.sqrt((1 + 0 + 4) / 3),
        rmse_log=math.sqrt(2 * LN2 ** 2 / 3),
        log10=2 * math.log10(2) / 3,
        silog=100 * math.sqrt(2 * LN2 ** 2 / 3 - 0.0),  # mean(e) = 0
        d1=1 / 3, d2=1 / 3, d3=1 / 3,  # 2 > 1.25^3 = 1.953125
    ))


def test_metrics_hand_case_pure_scale_has_zero_silog():
    pred = torch.tensor([1.5, 3.0])
    gt = torch.tensor([1.0, 2.0])
    m = compute_depth_metrics(pred, gt, torch.ones(2, dtype=torch.bool))
    ln15 = math.log(1.5)
    _close(m, dict(
        abs_rel=0.5,
        sq_rel=(0.25 / 1 + 1.0 / 2) / 2,
        rmse=math.sqrt((0.25 + 1.0) / 2),
        rmse_log=ln15,
        log10=math.log10(1.5),
        silog=0.0,  # the error is a constant log offset
        d1=0.0, d2=1.0, d3=1.0,  # ratio 1.5 in [1.25, 1.5625)
    ), tol=1e-9)


def test_metrics_hand_case_silog_with_offset():
    # e = ln2, 2 ln2: mean(e^2) = 2.5 ln2^2, mean(e)^2 = 2.25 ln2^2 -> silog = 100 * 0.5 ln2
    pred = torch.tensor([2.0, 4.0])
    gt = torch.tensor([1.0, 1.0])
    m = compute_depth_metrics(pred, gt, torch.ones(2, dtype=torch.bool))
    _close(m, dict(silog=50 * LN2, rmse_log=math.sqrt(2.5) * LN2, abs_rel=2.0,
                   sq_rel=5.0, rmse=math.sqrt(5.0), log10=1.5 * math.log10(2),
                   d1=0.0, d2=0.0, d3=0.0))


def test_metrics_ignore_masked_pixels_and_pool_batches():
    pred = torch.tensor([[[1.0, float('nan')], [4.0, 0.0]]])  # (1, 2, 2)
    gt = torch.tensor([[[2.0, 0.0], [2.0, 5.0]]])
    mask = torch.tensor([[True, False], [True, False]])  # broadcasts over the leading dim
    m = compute_depth_metrics(pred, gt, mask)
    ref = compute_depth_metrics(torch.tensor([1.0, 4.0]), torch.tensor([2.0, 2.0]),
                                torch.ones(2, dtype=torch.bool))
    assert m == ref
    # a batch pools all valid pixels (not a mean of per-image values)
    a, b = torch.tensor([[1.0, 2.0]]), torch.tensor([[4.0, 3.0]])
    g = torch.full((1, 2), 2.0)
    batch = compute_depth_metrics(torch.stack([a, b]), torch.stack([g, g]),
                                  torch.ones(2, 1, 2, dtype=torch.bool))
    pooled = compute_depth_metrics(torch.tensor([1.0, 2.0, 4.0, 3.0]), torch.full((4,), 2.0),
                                   torch.ones(4, dtype=torch.bool))
    assert batch == pytest.approx(pooled, rel=1e-12)
    # sums add up to the pooled sums
    sa = depth_metric_sums(a, g, torch.ones_like(a, dtype=torch.bool))
    sb = depth_metric_sums(b, g, torch.ones_like(b, dtype=torch.bool))
    assert metrics_from_sums(sa + sb) == pytest.approx(pooled, rel=1e-12)


def test_metrics_errors():
    ones = torch.ones(4)
    with pytest.raises(ValueError, match='no valid pixel'):
        compute_depth_metrics(ones, ones, torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match='1 NaN'):
        compute_depth_metrics(torch.tensor([1.0, float('nan'), 1, 1]), ones,
                              torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match='1 inf'):
        compute_depth_metrics(torch.tensor([1.0, float('inf'), 1, 1]), ones,
                              torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match='non-positive'):
        compute_depth_metrics(torch.tensor([1.0, 0.0, 1, 1]), ones,
                              torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match='shape'):
        compute_depth_metrics(torch.ones(3), ones, torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match='0 pixels'):
        metrics_from_sums(torch.zeros(10, dtype=torch.float64))


# ----------------------------------------------------------------------------- masks

def test_eval_mask_eigen_literal_on_480x640():
    gt = torch.rand(480, 640) * 12  # some above 10, some below 0.5
    mask = eval_mask(gt, 0.5, 10.0, 'eigen')
    ref = torch.zeros(480, 640, dtype=torch.bool)
    ref[45:471, 41:601] = True
    assert torch.equal(mask, ref & (gt > 0.5) & (gt < 10.0))
    assert crop_box('eigen', 480, 640) == (45, 471, 41, 601)
    assert crop_box('eigen', 480, 640, eigen='scaled') == (45, 471, 41, 601)
    # other sizes: the literal indices (DA / ZoeDepth), clipped to the frame ...
    assert crop_box('eigen', 530, 730) == (45, 471, 41, 601)
    assert crop_box('eigen', 240, 320) == (45, 240, 41, 320)
    # ... or scaled with integer arithmetic
    assert crop_box('eigen', 240, 320, eigen='scaled') == (22, 235, 20, 300)
    assert crop_box('eigen', 768, 1024, eigen='scaled') == (72, 753, 65, 961)


def test_eval_mask_garg_literal_ints():
    gt = torch.full((375, 1242), 5.0)
    mask = eval_mask(gt, 1e-3, 80.0, 'garg')
    ref = torch.zeros(375, 1242, dtype=torch.bool)
    ref[153:371, 44:1197] = True  # int(0.40810811*375), int(0.99189189*375), ...
    assert torch.equal(mask, ref)
    assert crop_box('garg', 352, 1216) == (143, 349, 43, 1172)


def test_eval_mask_range_finite_and_batch():
    gt = torch.tensor([0.0, 1e-3, 0.5, 10.0, 10.5, float('nan'), float('inf'), -1.0])
    assert eval_mask(gt.view(1, 8), 1e-3, 10.0).view(-1).tolist() == [
        False, False, True, False, False, False, False, False]
    # no upper bound: everything finite above min
    assert eval_mask(gt.view(1, 8), None, None).view(-1).tolist() == [
        False, True, True, True, True, False, False, False]
    batch = torch.rand(2, 1, 480, 640) + 1
    mask = eval_mask(batch, 1e-3, 10, 'eigen')
    assert mask.shape == batch.shape
    assert int(mask.sum()) == 2 * (471 - 45) * (601 - 41)


def test_eval_mask_bad_arguments():
    with pytest.raises(ValueError, match="'eigen', 'garg'"):
        eval_mask(torch.ones(4, 4), 1e-3, 10, 'kb')
    with pytest.raises(ValueError, match='below max_depth'):
        eval_mask(torch.ones(4, 4), 10, 1)


# ----------------------------------------------------------------------------- real frames

def test_metrics_match_numpy_on_nyu_eigen(nyu_frames, np_metrics, np_eval_mask, perturb):
    for i, frame in enumerate(nyu_frames):
        gt = frame['depth']
        pred = perturb(gt, seed=i)
        ref_mask = np_eval_mask(gt, 1e-3, 10.0, 'eigen') & frame['valid']
        ref = np_metrics(np.clip(pred[ref_mask], 1e-3, 10.0), gt[ref_mask])
        gt_t = torch.from_numpy(gt)
        mask = eval_mask(gt_t, 1e-3, 10.0, 'eigen') & torch.from_numpy(frame['valid'])
        assert torch.equal(mask, torch.from_numpy(ref_mask))
        assert int(mask.sum()) > 100_000
        m = compute_depth_metrics(torch.from_numpy(pred).clamp(1e-3, 10.0), gt_t, mask)
        for key in METRIC_KEYS:
            assert m[key] == pytest.approx(ref[key], rel=1e-9), key
        assert 0.05 < m['abs_rel'] < 0.3 and 0.5 < m['d1'] < 1.0


def test_metrics_match_numpy_on_kitti_garg(kitti_frames, np_metrics, np_eval_mask, perturb):
    for i, frame in enumerate(kitti_frames):
        gt = frame['depth']
        pred = perturb(gt, seed=10 + i)
        ref_mask = np_eval_mask(gt, 1e-3, 80.0, 'garg') & frame['valid']
        ref = np_metrics(np.clip(pred[ref_mask], 1e-3, 80.0), gt[ref_mask])
        gt_t = torch.from_numpy(gt)
        mask = eval_mask(gt_t, 1e-3, 80.0, 'garg') & torch.from_numpy(frame['valid'])
        assert torch.equal(mask, torch.from_numpy(ref_mask))
        # sparse LiDAR: a minority of the crop, and the > 80 m returns are dropped
        assert 10_000 < int(mask.sum()) < 0.5 * 375 * 1242
        assert bool((gt_t[torch.from_numpy(frame['valid'])] >= 80).any())
        m = compute_depth_metrics(torch.from_numpy(pred).clamp(1e-3, 80.0), gt_t, mask)
        for key in METRIC_KEYS:
            assert m[key] == pytest.approx(ref[key], rel=1e-9), key


# ----------------------------------------------------------------------------- alignment

def _gt_and_mask(frame):
    gt = torch.from_numpy(frame['depth']).double()
    mask = eval_mask(gt, 1e-3, 10.0, 'eigen') & torch.from_numpy(frame['valid'])
    return gt, mask


def _assert_recovered(aligned, gt, mask):
    m = compute_depth_metrics(aligned, gt, mask)
    assert m['abs_rel'] < 1e-10 and m['rmse'] < 1e-9 and m['silog'] < 1e-6
    assert m['d1'] == 1.0


def test_align_median_recovers_scaled_gt(nyu_frames):
    gt, mask = _gt_and_mask(nyu_frames[0])
    # garbage where the GT is invalid must not matter
    pred = torch.where(mask, gt / 3.7, torch.full_like(gt, 100.0))
    _assert_recovered(align_median(pred, gt, mask), gt, mask)
    # numpy-style median (even counts average the middle values)
    small = align_median(torch.tensor([[1.0, 2.0, 3.0, 4.0]]), torch.tensor([[5.0, 5, 6, 6]]),
                         torch.ones(1, 4, dtype=torch.bool))
    assert torch.allclose(small, torch.tensor([[1.0, 2.0, 3.0, 4.0]]) * 5.5 / 2.5)
    with pytest.raises(ValueError, match='positive'):
        align_median(-torch.ones(2, 2), torch.ones(2, 2), torch.ones(2, 2, dtype=torch.bool))


def test_align_lsq_recovers_affine_gt_per_image(nyu_frames):
    gt0, mask0 = _gt_and_mask(nyu_frames[0])
    gt1, mask1 = _gt_and_mask(nyu_frames[1])
    _assert_recovered(align_lsq(0.4 * gt0 + 1.3, gt0, mask0), gt0, mask0)
    # a batch (B, 1, H, W) gets one fit per image
    gt = torch.stack([gt0, gt1])[:, None]
    mask = torch.stack([mask0, mask1])[:, None]
    pred = torch.stack([0.4 * gt0 + 1.3, 2.0 * gt1 - 0.5])[:, None]
    aligned = align_lsq(pred, gt, mask)
    _assert_recovered(aligned[0], gt0[None], mask0[None])
    _assert_recovered(aligned[1], gt1[None], mask1[None])


def test_align_lsq_inverse_recovers_gt(nyu_frames):
    gt, mask = _gt_and_mask(nyu_frames[2])
    rel_inv = torch.where(mask, 2.5 / gt.clamp_min(1e-3) + 0.3, torch.zeros_like(gt))
    _assert_recovered(align_lsq_inverse(rel_inv, gt, mask), gt, mask)
    # negative fitted inverse depths are floored at min_inv (depth 1 / min_inv)
    x = torch.tensor([[1.0, 2.0, -5.0]])
    out = align_lsq_inverse(x, 1.0 / x.clamp_min(0.5), torch.tensor([[True, True, False]]),
                            min_inv=0.01)
    assert torch.allclose(out, torch.tensor([[1.0, 0.5, 100.0]]))


def test_align_global_shared_affine_recovers_gt(nyu_frames):
    gts, masks = zip(*(_gt_and_mask(f) for f in nyu_frames))
    xs = [torch.where(m, 1.7 / g.clamp_min(1e-3) - 0.05, torch.zeros_like(g))
          for g, m in zip(gts, masks)]
    for aligned, gt, mask in zip(align_global(xs, gts, masks, space='inverse'), gts, masks):
        _assert_recovered(aligned, gt, mask)
    xs = [(g - 0.2) / 3.0 for g in gts]
    scale, shift = fit_global_scale_shift(xs, gts, masks, space='depth')
    assert scale == pytest.approx(3.0, rel=1e-10) and shift == pytest.approx(0.2, rel=1e-8)
    for aligned, gt, mask in zip(align_global(xs, gts, masks, space='depth'), gts, masks):
        _assert_recovered(aligned, gt, mask)


def test_align_global_matches_numpy_fit(nyu_frames, np_metrics):
    gts, masks = zip(*(_gt_and_mask(f) for f in nyu_frames))
    affines = [(1.0, 0.0), (1.5, 0.05), (0.7, -0.02)]  # different per image
    xs = [torch.where(m, a / g.clamp_min(1e-3) + b, torch.zeros_like(g))
          for g, m, (a, b) in zip(gts, masks, affines)]
    # numpy reference: one lstsq over the concatenated valid pixels, in inverse space
    x_all = np.concatenate([x[m].numpy() for x, m in zip(xs, masks)])
    y_all = np.concatenate([1.0 / g[m].numpy() for g, m in zip(gts, masks)])
    design = np.stack([x_all, np.ones_like(x_all)], axis=1)
    (s, t), *_ = np.linalg.lstsq(design, y_all, rcond=None)
    scale, shift = fit_global_scale_shift(xs, gts, masks, space='inverse')
    assert scale == pytest.approx(s, rel=1e-9) and shift == pytest.approx(t, rel=1e-7, abs=1e-12)
    aligned = align_global(xs, gts, masks, space='inverse')
    for x, g, m, a in zip(xs, gts, masks, aligned):
        ref_pred = 1.0 / np.maximum(s * x[m].numpy() + t, 1e-8)
        ref = np_metrics(np.clip(ref_pred, 1e-3, 10.0), g[m].numpy())
        got = compute_depth_metrics(a.clamp(1e-3, 10.0), g, m)
        for key in METRIC_KEYS:
            assert got[key] == pytest.approx(ref[key], rel=1e-7, abs=1e-12), key
    # it is not the per-image fit: the second and third images keep an error
    assert compute_depth_metrics(aligned[1].clamp(1e-3, 10), gts[1], masks[1])['abs_rel'] > 0.01


def test_solve_scale_shift_degenerate_cases():
    x = torch.tensor([[2.0, 2.0, 2.0]])
    y = torch.tensor([[1.0, 2.0, 6.0]])
    scale, shift = solve_scale_shift(scale_shift_sums(x, y, torch.ones_like(x, dtype=torch.bool)))
    assert float(scale) == 0.0 and float(shift) == pytest.approx(3.0)
    scale, shift = solve_scale_shift(scale_shift_sums(x, y, torch.zeros_like(x, dtype=torch.bool)))
    assert float(scale) == 1.0 and float(shift) == 0.0
    with pytest.raises(ValueError, match="'inverse', 'depth'"):
        fit_global_scale_shift([x], [y], [x > 0], space='log')
