"""Depth Pro's boundary F1 (tr2m/evaluation/functional.py: boundary_counts / boundary_scores /
boundary_f1) and its DepthMetric option: hand-computed step edges, ramps and constant maps,
scale invariance, invalid GT, and equality with a naive per-pair reference."""
import numpy as np
import pytest
import torch

from tr2m.evaluation import DepthMetric
from tr2m.evaluation.functional import (
    BOUNDARY_KEYS,
    BOUNDARY_THRESHOLDS,
    boundary_counts,
    boundary_f1,
    boundary_scores,
)

from ._samples import make_sample, run_metric

RATIOS = np.array([1 + t for t in BOUNDARY_THRESHOLDS])
W_RATIO = RATIOS / RATIOS.sum()  # Depth Pro's weights: thresholds / thresholds.sum()


def step(h=4, w=6, col=3, near=1.0, far=2.0):
    """Depth ``near`` left of column ``col``, ``far`` from it on: one vertical step edge."""
    d = torch.full((h, w), near, dtype=torch.float64)
    d[:, col:] = far
    return d


def scores(pred, gt, mask=None, **kwargs):
    reduction = kwargs.pop('reduction', 'directions')
    c = boundary_counts(pred, gt, mask, **kwargs)
    return {k: float(v) for k, v in boundary_scores(c, reduction=reduction).items()}


# ----------------------------------------------------------------------------- hand cases

def test_thresholds_are_depth_pros():
    assert len(BOUNDARY_THRESHOLDS) == 10
    np.testing.assert_allclose(RATIOS, np.linspace(1.05, 1.25, 10), rtol=0, atol=1e-15)


def test_step_edge_perfect_prediction():
    gt = step()
    c = boundary_counts(gt, gt)
    assert c.shape == (10, 4, 3)
    # 4 rows x 1 contour each, all in one of the four directed maps, at every threshold
    assert c[:, :, 0].sum(1).tolist() == [4] * 10
    assert sorted(c[0, :, 1].tolist()) == [0, 0, 0, 4] and torch.equal(c[..., 1], c[..., 2])
    # Depth Pro's code averages the four directions: three have no contour -> 0.25
    assert scores(gt, gt) == pytest.approx(dict(boundary_f1=0.25, boundary_precision=0.25,
                                                boundary_recall=0.25), abs=1e-15)
    # pooling the pairs, a perfect prediction scores 1
    assert scores(gt, gt, reduction='pairs') == pytest.approx(
        dict(boundary_f1=1.0, boundary_precision=1.0, boundary_recall=1.0), abs=1e-15)


def test_step_edge_softened_and_shifted():
    gt = step()
    # 1, 1, 1.4, 2, 2, 2: two contours per row (1 -> 1.4 and 1.4 -> 2, both > 1.25),
    # the GT's (columns 2 -> 3) among them: P = 4 / 8, R = 4 / 4 at every threshold
    soft = torch.tensor([1, 1, 1.4, 2, 2, 2], dtype=torch.float64).expand(4, 6)
    assert scores(soft, gt, reduction='pairs') == pytest.approx(
        dict(boundary_f1=2 / 3, boundary_precision=0.5, boundary_recall=1.0), abs=1e-15)
    p, r = 0.5 / 4, 1.0 / 4  # one direction of four holds all contours
    assert scores(soft, gt) == pytest.approx(
        dict(boundary_f1=2 * p * r / (p + r), boundary_precision=p, boundary_recall=r),
        abs=1e-15)
    # an edge one column off is a miss everywhere
    for reduction in ('directions', 'pairs'):
        assert scores(step(col=4), gt, reduction=reduction)['boundary_f1'] == 0.0
    # the edge the wrong way round (far on the left) is a different occlusion: a miss too
    assert scores(step(near=2.0, far=1.0), gt, reduction='pairs')['boundary_f1'] == 0.0


def test_geometric_ramp_is_a_contour_only_below_its_ratio():
    # d = 1.1 ** col: every horizontal neighbour ratio is 1.1, above the thresholds
    # 1.05, 1.0722, 1.0944 and below the other seven
    gt = (1.1 ** torch.arange(8, dtype=torch.float64)).expand(3, 8).clone()
    per_t = boundary_scores(boundary_counts(gt, gt), weights=[1] + [0] * 9,
                            reduction='pairs')['boundary_f1']
    assert float(per_t) == 1.0
    c = boundary_counts(gt, gt)
    assert c[:, :, 2].sum(1).tolist() == [3 * 7] * 3 + [0] * 7
    expected_pairs = W_RATIO[:3].sum()  # F1 = 1 at three thresholds, 0 at seven
    assert scores(gt, gt, reduction='pairs')['boundary_f1'] == pytest.approx(expected_pairs,
                                                                              abs=1e-15)
    assert scores(gt, gt)['boundary_f1'] == pytest.approx(expected_pairs / 4, abs=1e-15)
    assert expected_pairs == pytest.approx((1.05 + 1 + 0.05 + 2 / 90 + 1 + 0.05 + 4 / 90)
                                           / 11.5, abs=1e-12)
    # a constant prediction finds none of them
    assert scores(torch.full_like(gt, 3.0), gt, reduction='pairs')['boundary_f1'] == 0.0


def test_constant_maps_score_zero():
    flat = torch.full((5, 7), 2.5, dtype=torch.float64)
    for reduction in ('directions', 'pairs'):
        assert scores(flat, flat, reduction=reduction) == dict(
            boundary_f1=0.0, boundary_precision=0.0, boundary_recall=0.0)
        # contours predicted where the GT has none: precision 0, recall 0 (no GT contour)
        assert scores(step(5, 7), flat, reduction=reduction)['boundary_f1'] == 0.0


def test_invalid_gt_pairs_do_not_count():
    gt = step()
    # GT missing in column 3: the edge pair (2, 3) is not a valid pair any more
    holes = gt.clone()
    holes[:, 3] = 0.0
    c = boundary_counts(gt, holes)
    assert int(c[..., 2].sum()) == 0 and int(c[..., 1].sum()) == 0
    # the same through an explicit mask, and a mask that keeps the edge
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[:, 3] = False
    assert torch.equal(boundary_counts(gt, gt, mask), c)
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[:, 5] = False
    assert scores(gt, gt, mask, reduction='pairs')['boundary_f1'] == 1.0
    # an invalid prediction outside the mask is fine, inside it raises
    pred = gt.clone()
    pred[:, 5] = float('nan')
    assert scores(pred, gt, mask, reduction='pairs')['boundary_f1'] == 1.0
    with pytest.raises(ValueError, match='non-positive'):
        boundary_counts(pred, gt)


def test_bad_arguments():
    gt = step()
    with pytest.raises(ValueError, match='shape'):
        boundary_counts(gt[:, :5], gt)
    with pytest.raises(ValueError, match='threshold'):
        boundary_counts(gt, gt, thresholds=())
    c = boundary_counts(gt, gt)
    with pytest.raises(ValueError, match='directions'):
        boundary_scores(c, reduction='mean')
    with pytest.raises(ValueError, match='ratio'):
        boundary_scores(c, weights='linear')
    with pytest.raises(ValueError, match='10 non-negative'):
        boundary_scores(c, weights=[1, 2])
    with pytest.raises(ValueError, match='counts must have shape'):
        boundary_scores(c[:5])


# ----------------------------------------------------------------------------- invariances

def random_scene(seed, h=31, w=43):
    """Piecewise depth with many edges and smooth parts, and a noisy prediction of it."""
    gen = torch.Generator().manual_seed(seed)
    gt = torch.exp(0.3 * torch.randn(h, w, generator=gen, dtype=torch.float64))
    gt = gt * (1 + (torch.rand(h, w, generator=gen, dtype=torch.float64) > 0.7))
    pred = gt * torch.exp(0.1 * torch.randn(h, w, generator=gen, dtype=torch.float64))
    valid = torch.rand(h, w, generator=gen) > 0.1
    return pred, torch.where(valid, gt, torch.zeros_like(gt))


@pytest.mark.parametrize('reduction', ['directions', 'pairs'])
def test_scale_invariant(reduction):
    for seed in range(3):
        pred, gt = random_scene(seed)
        ref = boundary_f1(pred, gt, reduction=reduction)
        assert 0.3 < float(ref) < 1.0
        assert torch.equal(boundary_f1(pred * 2.0, gt, reduction=reduction), ref)  # exact
        assert torch.equal(boundary_f1(pred * 0.125, gt * 8.0, reduction=reduction), ref)
        for s in (0.37, 1e3, 7.3e-4):
            assert float(boundary_f1(pred * s, gt, reduction=reduction)) == pytest.approx(
                float(ref), abs=1e-12)
        # float32 input gives the same counts
        assert float(boundary_f1(pred.float(), gt.float(), reduction=reduction)) == \
            pytest.approx(float(ref), abs=0.02)


def test_thresholds_in_any_order():
    pred, gt = random_scene(4)
    shuffled = boundary_counts(pred, gt, thresholds=[0.2, 0.05, 0.1, 0.07])
    ordered = boundary_counts(pred, gt, thresholds=[0.05, 0.07, 0.1, 0.2])
    assert torch.equal(shuffled, ordered[[3, 0, 2, 1]])
    # counts fall as the threshold rises
    assert (ordered[:-1, :, 1:] >= ordered[1:, :, 1:]).all()


def test_batch_equals_single_images():
    pairs = [random_scene(s) for s in range(3)]
    pred = torch.stack([p for p, _ in pairs])[:, None]  # (3, 1, H, W)
    gt = torch.stack([g for _, g in pairs])[:, None]
    batch = boundary_f1(pred, gt)
    assert batch.shape == (3, 1)
    for i, (p, g) in enumerate(pairs):
        assert float(batch[i, 0]) == float(boundary_f1(p, g))
    # counts add up over images (pooled aggregation)
    total = boundary_counts(pred, gt).sum((0, 1))
    assert torch.equal(total, sum(boundary_counts(p, g) for p, g in pairs))


def naive_boundary_f1(pred, gt, valid, reduction, weights):
    """Pair-by-pair reference of Depth Pro's definition, written with plain loops."""
    h, w = gt.shape
    dirs = [(0, 1), (0, -1), (1, 0), (-1, 0)]  # j = i + offset; contour if d_j / d_i > 1 + t
    f1s, ps, rs = [], [], []
    for t in BOUNDARY_THRESHOLDS:
        both, npred, ngt = np.zeros(4), np.zeros(4), np.zeros(4)
        for k, (dy, dx) in enumerate(dirs):
            for y in range(h):
                for x in range(w):
                    yj, xj = y + dy, x + dx
                    if not (0 <= yj < h and 0 <= xj < w and valid[y, x] and valid[yj, xj]):
                        continue
                    cp = pred[yj, xj] / pred[y, x] > 1 + t
                    cg = gt[yj, xj] / gt[y, x] > 1 + t
                    both[k] += cp and cg
                    npred[k] += cp
                    ngt[k] += cg
        if reduction == 'directions':
            p = np.mean(both / np.maximum(npred, 1))
            r = np.mean(both / np.maximum(ngt, 1))
        else:
            p = both.sum() / max(npred.sum(), 1)
            r = both.sum() / max(ngt.sum(), 1)
        ps.append(p)
        rs.append(r)
        f1s.append(0.0 if p + r == 0 else 2 * p * r / (p + r))
    wts = W_RATIO if weights == 'ratio' else np.full(10, 0.1)
    return np.dot(f1s, wts), np.dot(ps, wts), np.dot(rs, wts)


@pytest.mark.parametrize('reduction, weights', [('directions', 'ratio'), ('pairs', 'ratio'),
                                                ('directions', 'uniform')])
def test_equals_naive_reference(reduction, weights):
    for seed in range(2):
        pred, gt = random_scene(seed, 13, 17)
        valid = (gt > 0).numpy()
        ref = naive_boundary_f1(pred.numpy(), gt.numpy(), valid, reduction, weights)
        got = boundary_scores(boundary_counts(pred, gt), weights, reduction)
        np.testing.assert_allclose([float(got[k]) for k in BOUNDARY_KEYS], ref, rtol=0,
                                   atol=1e-14)


def test_real_frame_perfect_and_blurred(nyu_frames):
    f = nyu_frames[0]
    gt = torch.from_numpy(f['depth']).double()
    valid = torch.from_numpy(f['valid'])
    for reduction in ('directions', 'pairs'):
        # every direction of a real scene has contours, so a perfect prediction scores 1
        assert float(boundary_f1(gt, gt, valid, reduction=reduction)) == 1.0
    # a 9 x 9 box blur of the GT smears its edges: recall drops
    filled = torch.where(valid, gt, gt[valid].median())
    blurred = torch.nn.functional.avg_pool2d(filled[None, None], 9, 1, 4,
                                             count_include_pad=False)[0, 0]
    s = scores(blurred, gt, valid)
    assert s['boundary_recall'] < 0.5 and s['boundary_f1'] < 0.6
    assert float(boundary_f1(blurred * 3.0, gt, valid)) == pytest.approx(s['boundary_f1'],
                                                                         abs=1e-12)


# ----------------------------------------------------------------------------- DepthMetric

PROTO = dict(min_depth=1e-3, max_depth=10.0, crop=None, units='m')


def _samples():
    out = []
    for i in range(3):
        pred, gt = random_scene(10 + i)
        out.append(make_sample(pred.numpy() * (1.5 + i), gt.numpy(), protocol=PROTO,
                               img_path=f'{i}.png'))
    return out


def test_depth_metric_boundary_per_image_and_pixel():
    samples = _samples()
    m = run_metric(DepthMetric(boundary=True), samples)
    refs = []
    for s in samples:
        gt = s.gt_depth.data[0].double()
        refs.append(float(boundary_f1(s.pred_depth.data[0].double(), gt, gt > 1e-3)))
    assert m['boundary_f1'] == pytest.approx(np.mean(refs), abs=1e-12)
    assert set(BOUNDARY_KEYS) <= set(m)
    assert 0 < m['boundary_precision'] < 1 and 0 < m['boundary_recall'] < 1
    # pixel aggregation pools the contour counts
    pooled = run_metric(DepthMetric(boundary=True, aggregation='pixel'), samples)
    counts = sum(boundary_counts(s.pred_depth.data[0], s.gt_depth.data[0]) for s in samples)
    assert pooled['boundary_f1'] == pytest.approx(
        float(boundary_scores(counts)['boundary_f1']), abs=1e-12)
    # off by default
    assert not set(BOUNDARY_KEYS) & set(run_metric(DepthMetric(), samples))


def test_depth_metric_boundary_options_recorded_and_unaligned():
    samples = _samples()
    metric = DepthMetric(boundary=dict(reduction='pairs', weights='uniform'), alignment='lsq')
    m = run_metric(metric, samples)
    plain = run_metric(DepthMetric(boundary=dict(reduction='pairs', weights='uniform')),
                       samples)
    # the boundary score reads the prediction before alignment
    assert m['boundary_f1'] == plain['boundary_f1'] and m['abs_rel'] != plain['abs_rel']
    entry = metric.protocol_summary()['toy']
    assert entry['boundary'] == dict(thresholds=list(BOUNDARY_THRESHOLDS), weights='uniform',
                                     reduction='pairs',
                                     input='pred_depth (before alignment and clamping)')
    assert 'boundary_f1' in metric.per_image_metrics()[0]
    short = DepthMetric(boundary='pairs')  # --cfg-options test_evaluator.boundary=pairs
    assert run_metric(short, samples)['boundary_f1'] == pytest.approx(
        run_metric(DepthMetric(boundary=dict(reduction='pairs')), samples)['boundary_f1'])
    for bad in (dict(reduction='mean'), dict(thresholds=()), dict(step=2), 'yes',
                dict(weights=[1, 2])):
        with pytest.raises(ValueError):
            DepthMetric(boundary=bad)
