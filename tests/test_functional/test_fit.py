"""tr2m/functional/fit.py: the one scale/shift fit. Its degenerate rules are the same on every
path: the pseudo-depth loss, the per-image alignments and the dataset-global fit."""
import numpy as np
import pytest
import torch

from tr2m.evaluation import DepthMetric, align_lsq, align_lsq_inverse
from tr2m.functional import fit_scale_shift, scale_shift_sums, solve_scale_shift
from tr2m.models.losses import ThresholdedPseudoDepthLoss, pseudo_metric_depth


def test_empty_image_gets_the_same_fit_in_the_loss_and_in_evaluation():
    rel = torch.tensor([[[0.5, 1.0], [2.0, 4.0]]])
    gt = torch.tensor([[[3.0, 0.0], [5.0, 7.0]]])
    empty = torch.zeros_like(gt, dtype=torch.bool)
    # loss path: the pseudo-depth loss's fit (inverse space: alpha * rel + beta ~ 1 / gt)
    loss_fit = fit_scale_shift(rel, 1.0 / gt.clamp_min(1.0), empty)
    pseudo, delta1 = pseudo_metric_depth(rel, gt, empty)
    # evaluation path: the sums of the global fit and the per-image alignments
    eval_fit = solve_scale_shift(scale_shift_sums(rel, 1.0 / gt.clamp_min(1.0), empty))
    assert [float(v) for v in loss_fit] == [float(v) for v in eval_fit] == [1.0, 0.0]
    # the identity: the loss's pseudo depth is 1 / rel, the aligned prediction is unchanged
    assert torch.equal(pseudo, 1.0 / rel) and float(delta1) == 0.0
    assert torch.equal(align_lsq(rel, gt, empty), rel)
    assert torch.allclose(align_lsq_inverse(rel, gt, empty), 1.0 / rel)
    # and the loss's gate still refuses the image (no valid GT pixel: nothing to supervise)
    loss, passed = ThresholdedPseudoDepthLoss(min_valid=1)(
        torch.ones(1, 1, 2, 2, requires_grad=True), rel[None], gt[None], empty[None])
    assert loss.item() == 0.0 and passed.item() == 0.0


def test_degenerate_rules_agree_between_moments_and_sums():
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0],    # no valid pixel
                      [5.0, 2.0, 3.0, 4.0],    # one valid pixel
                      [2.0, 2.0, 2.0, 9.0],    # constant x on the valid pixels
                      [1.0, 2.0, 3.0, 4.0]])   # regular: y = 2 x + 1
    y = torch.tensor([[1.0, 1.0, 1.0, 1.0],
                      [7.0, 1.0, 1.0, 1.0],
                      [1.0, 2.0, 6.0, 0.0],
                      [3.0, 5.0, 7.0, 9.0]])
    valid = torch.tensor([[False] * 4, [True, False, False, False], [True, True, True, False],
                          [True] * 4])
    expected = (torch.tensor([1.0, 0.0, 0.0, 2.0]), torch.tensor([0.0, 7.0, 3.0, 1.0]))
    a, b = fit_scale_shift(x[:, None], y[:, None], valid[:, None])  # one (1, 4) image each
    s, t = solve_scale_shift(scale_shift_sums(x[:, None], y[:, None], valid[:, None]))
    for got in ((a, b), (s.float(), t.float())):
        assert torch.allclose(got[0], expected[0]) and torch.allclose(got[1], expected[1])


def test_moments_and_sums_agree_with_numpy_on_real_gt(nyu_frames):
    gen = np.random.default_rng(3)
    for frame in nyu_frames:
        gt, valid = frame['depth'].astype(np.float64), frame['valid']
        rel = 1.0 / np.maximum(gt, 0.1) * (1 + 0.1 * gen.standard_normal(gt.shape))
        x, y = rel[valid], 1.0 / gt[valid]
        (ref_s, ref_t), *_ = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)
        rel_t = torch.from_numpy(rel)
        y_t = torch.from_numpy(np.where(valid, 1.0 / np.where(valid, gt, 1.0), 0.0))
        m = torch.from_numpy(valid)
        s1, t1 = fit_scale_shift(rel_t, y_t, m)
        s2, t2 = solve_scale_shift(scale_shift_sums(rel_t, y_t, m))
        for s, t in ((s1, t1), (s2, t2)):
            assert float(s) == pytest.approx(ref_s, rel=1e-9)
            assert float(t) == pytest.approx(ref_t, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize('alignment', ['lsq', 'lsq_inverse', 'median', 'global'])
def test_metric_with_one_empty_image_scores_the_other(alignment):
    from mmengine.structures import PixelData

    from tr2m.structures import DepthDataSample

    def sample(gt, name):
        s = DepthDataSample(metainfo=dict(img_path=name, dataset_name='toy'))
        gt = torch.tensor(gt)[None]
        s.gt_depth = PixelData(data=gt)
        s.pred_depth = PixelData(data=2.0 * gt.clamp_min(1.0))  # 2x the GT
        s.pred_rel_depth = PixelData(data=0.5 / gt.clamp_min(1.0))  # half the inverse GT
        return s

    metric = DepthMetric(alignment=alignment)
    samples = [sample([[1.0, 2.0, 4.0]], 'full.png'), sample([[0.0, 0.0, 0.0]], 'empty.png')]
    metric.process(None, samples)
    m = metric.compute_metrics(metric.results)
    assert m['abs_rel'] == pytest.approx(0.0, abs=1e-9)  # the aligned full image is exact
    assert metric.protocol_summary()['toy']['skipped'] == 1
