"""Tests of tr2m/evaluation/metrics/depth_metric.py."""
import logging
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger

from tr2m.evaluation import DepthMetric, compute_depth_metrics
from tr2m.evaluation.functional import METRIC_KEYS
from tr2m.registry import METRICS
from tr2m.structures import DepthDataSample, DepthProtocol, RunNotes

from ._samples import make_sample, run_metric

NYU = dict(min_depth=1e-3, max_depth=10.0, crop='eigen', units='m')
KITTI = dict(min_depth=1e-3, max_depth=80.0, crop='garg', units='m')


# ----------------------------------------------------------------------------- construction

def test_registered_and_bad_modes_raise():
    metric = METRICS.build(dict(type='DepthMetric', alignment='lsq', aggregation='pixel'))
    assert isinstance(metric, DepthMetric)
    for kwargs, valid in [(dict(alignment='scale'), 'lsq_inverse'),
                          (dict(aggregation='mean'), 'per_image'),
                          (dict(global_space='log'), 'inverse'),
                          (dict(crop='kb'), 'garg'),
                          (dict(max_depth='ten'), 'from_protocol')]:
        with pytest.raises(ValueError, match=valid):
            DepthMetric(**kwargs)


# ----------------------------------------------------------------------------- hand cases

def test_per_image_vs_pixel_aggregation_hand_case():
    # image a: one valid pixel, pred 2 vs gt 1 (abs_rel 1, d1 0); image b: 3 exact pixels
    a = make_sample(pred=[[2.0, 5.0]], gt=[[1.0, 0.0]])
    b = make_sample(pred=[[3.0, 3.0, 3.0]], gt=[[3.0, 3.0, 3.0]])
    per_image = run_metric(DepthMetric(), [a, b])
    pixel = run_metric(DepthMetric(aggregation='pixel'), [a, b])
    assert set(per_image) == set(METRIC_KEYS) == set(pixel)
    assert per_image['abs_rel'] == pytest.approx((1.0 + 0.0) / 2)
    assert pixel['abs_rel'] == pytest.approx(1.0 / 4)
    assert per_image['d1'] == pytest.approx(0.5) and pixel['d1'] == pytest.approx(0.75)
    assert per_image['rmse'] == pytest.approx(0.5) and pixel['rmse'] == pytest.approx(0.5)
    assert per_image['rmse_log'] == pytest.approx(math.log(2) / 2)
    assert pixel['rmse_log'] == pytest.approx(math.log(2) / 2)
    # pooled silog: e = (ln2, 0, 0, 0): sqrt(ln2^2/4 - ln2^2/16) = ln2 * sqrt(3) / 4
    assert pixel['silog'] == pytest.approx(100 * math.log(2) * math.sqrt(3) / 4)
    assert per_image['silog'] == pytest.approx(0.0, abs=1e-9)  # one pixel / exact image
    assert all(isinstance(v, float) for v in per_image.values())


def test_objects_dicts_and_mmengine_evaluator_agree():
    rng = np.random.default_rng(0)
    gts = [rng.uniform(0.5, 12.0, (6, 8)).astype(np.float32) for _ in range(3)]
    preds = [g * rng.uniform(0.8, 1.2, g.shape).astype(np.float32) for g in gts]
    proto = dict(min_depth=1e-3, max_depth=10.0, crop=None, units='m')
    samples = [make_sample(p, g, protocol=proto, img_path=f'{i}.png')
               for i, (p, g) in enumerate(zip(preds, gts))]
    from_objects = run_metric(DepthMetric(), samples)
    from_dicts = run_metric(DepthMetric(), samples, as_dict=True)
    evaluator = Evaluator(DepthMetric())
    evaluator.process(samples[:2])
    evaluator.process(samples[2:])
    from_evaluator = evaluator.evaluate(3)
    assert from_objects == from_dicts == from_evaluator
    # per image: mean of the functional metrics on the protocol mask, after clamping to 10 m
    expected = []
    for p, g in zip(preds, gts):
        g_t = torch.from_numpy(g)
        mask = (g_t > 1e-3) & (g_t < 10.0)
        expected.append(compute_depth_metrics(torch.from_numpy(p).clamp(1e-3, 10.0), g_t, mask))
    for key in METRIC_KEYS:
        assert from_objects[key] == pytest.approx(np.mean([e[key] for e in expected]),
                                                  rel=1e-12), key


def test_prefix_is_prepended_by_mmengine():
    evaluator = Evaluator(DepthMetric(prefix='depth'))
    evaluator.process([make_sample([[1.0]], [[2.0]])])
    assert set(evaluator.evaluate(1)) == {f'depth/{k}' for k in METRIC_KEYS}


def test_predictions_are_clamped_to_the_range():
    proto = dict(min_depth=0.5, max_depth=10.0, crop=None, units='m')
    sample = make_sample(pred=[[20.0, 0.01]], gt=[[5.0, 1.0]], protocol=proto)
    m = run_metric(DepthMetric(), [sample])
    assert m['abs_rel'] == pytest.approx((5.0 / 5.0 + 0.5 / 1.0) / 2)  # 20 -> 10, 0.01 -> 0.5


def test_protocol_read_from_metainfo_and_overridden():
    gt = np.full((480, 640), 2.0, np.float32)
    gt[:, :320] = 12.0  # beyond NYU's 10 m
    pred = np.where(gt > 10, 6.0, 2.0).astype(np.float32)
    sample = make_sample(pred, gt, protocol=DepthProtocol(**NYU, split='test'),
                         notes=RunNotes(caption_index=0), dataset_name='nyu_v2')
    metric = DepthMetric()
    m = run_metric(metric, [sample])
    assert m['abs_rel'] == 0.0 and m['d1'] == 1.0  # the 12 m half is outside the range
    summary = metric.protocol_summary()
    assert summary == {'nyu_v2': dict(
        dataset='nyu_v2', count=1, skipped=0, crop='eigen', crop_convention='fixed',
        min_depth=1e-3, max_depth=10.0, units='m', alignment='none', aggregation='per_image',
        split='test', caption_index=0)}
    assert metric.per_image_metrics()[0]['num_valid'] == (471 - 45) * (601 - 320)
    # explicit values override the sample's protocol; inf removes the upper bound
    metric = DepthMetric(max_depth=float('inf'), crop=None)
    m = run_metric(metric, [sample])
    assert m['abs_rel'] == pytest.approx(0.5 * 0.5)  # half the pixels: |6 - 12| / 12
    entry = metric.protocol_summary()['nyu_v2']
    assert entry['max_depth'] is None and entry['crop'] is None
    # no protocol at all: 1e-3 / no upper bound / no crop
    metric = DepthMetric()
    run_metric(metric, [make_sample(pred, gt, dataset_name='nyu_v2')])
    entry = metric.protocol_summary()['nyu_v2']
    assert (entry['min_depth'], entry['max_depth'], entry['crop'], entry['units']) == (
        1e-3, None, None, 'm')


def test_protocol_summary_before_compute_raises():
    with pytest.raises(RuntimeError, match='compute_metrics'):
        DepthMetric().protocol_summary()


def test_images_without_valid_pixel_are_skipped():
    good = make_sample([[1.0, 2.0]], [[1.0, 4.0]], img_path='good.png')
    empty = make_sample([[1.0, 2.0]], [[0.0, 0.0]], img_path='empty.png')
    out_of_range = make_sample([[1.0, 2.0]], [[20.0, 30.0]], img_path='far.png',
                               protocol=dict(min_depth=1e-3, max_depth=10.0, crop=None))
    metric = DepthMetric()
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        m = run_metric(metric, [good, empty, out_of_range])
    finally:
        logger.removeHandler(handler)
    assert m == pytest.approx(run_metric(DepthMetric(), [good]))
    messages = [r.getMessage() for r in records]
    assert any('skipped 2 of 3' in msg and 'empty.png, far.png' in msg for msg in messages)
    entry = metric.protocol_summary()['toy']
    assert entry['count'] == 1 and entry['skipped'] == 2
    assert [r['img_path'] for r in metric.per_image_metrics()] == ['good.png']
    # nothing valid at all: NaN, not a crash
    metric = DepthMetric()
    m = run_metric(metric, [empty])
    assert all(math.isnan(v) for v in m.values())


def test_bad_predictions_raise_with_the_image():
    with pytest.raises(ValueError, match='nan.png.*NaN'):
        run_metric(DepthMetric(), [make_sample([[float('nan')]], [[1.0]], img_path='nan.png')])
    with pytest.raises(ValueError, match='resize'):
        run_metric(DepthMetric(), [make_sample(np.ones((2, 2)), np.ones((3, 3)))])
    with pytest.raises(ValueError, match='gt_depth'):
        DepthMetric().process(None, [DepthDataSample()])


# ----------------------------------------------------------------------------- datasets

def test_multi_dataset_prefixing(nyu_frames, kitti_frames, perturb):
    samples = []
    for i, f in enumerate(nyu_frames):
        samples.append(make_sample(perturb(f['depth'], i), f['depth'], f['valid'],
                                   dataset_name='nyu_v2', protocol=NYU, img_path=f['path']))
    for i, f in enumerate(kitti_frames):
        samples.append(make_sample(perturb(f['depth'], 10 + i), f['depth'], f['valid'],
                                   dataset_name='kitti', protocol=KITTI, img_path=f['path']))
    for aggregation in ('per_image', 'pixel'):
        metric = DepthMetric(aggregation=aggregation)
        m = run_metric(metric, samples)
        nyu = run_metric(DepthMetric(aggregation=aggregation), samples[:3])
        kitti = run_metric(DepthMetric(aggregation=aggregation), samples[3:])
        assert set(m) == set(METRIC_KEYS) | {f'{d}/{k}' for d in ('nyu_v2', 'kitti')
                                             for k in METRIC_KEYS}
        for key in METRIC_KEYS:
            assert m[f'nyu_v2/{key}'] == pytest.approx(nyu[key], rel=1e-12)
            assert m[f'kitti/{key}'] == pytest.approx(kitti[key], rel=1e-12)
        if aggregation == 'per_image':  # the plain keys: mean over all 6 images
            for key in METRIC_KEYS:
                assert m[key] == pytest.approx((nyu[key] + kitti[key]) / 2, rel=1e-12)
        summary = metric.protocol_summary()
        assert list(summary) == ['nyu_v2', 'kitti']
        assert summary['kitti']['crop'] == 'garg' and summary['kitti']['max_depth'] == 80.0
        assert summary['nyu_v2']['crop'] == 'eigen' and summary['nyu_v2']['count'] == 3


def test_metric_matches_numpy_on_real_frames(nyu_frames, kitti_frames, np_metrics,
                                             np_eval_mask, perturb):
    for frames, proto, name in ((nyu_frames, NYU, 'nyu_v2'), (kitti_frames, KITTI, 'kitti')):
        refs, samples = [], []
        for i, f in enumerate(frames):
            pred = perturb(f['depth'], 20 + i)
            mask = np_eval_mask(f['depth'], proto['min_depth'], proto['max_depth'],
                                proto['crop']) & f['valid']
            refs.append(np_metrics(np.clip(pred[mask], 1e-3, proto['max_depth']),
                                   f['depth'][mask]))
            samples.append(make_sample(pred, f['depth'], f['valid'], dataset_name=name,
                                       protocol=proto))
        m = run_metric(DepthMetric(), samples, as_dict=True)
        for key in METRIC_KEYS:
            assert m[key] == pytest.approx(np.mean([r[key] for r in refs]), rel=1e-9), key


# ----------------------------------------------------------------------------- alignment

def _nyu_samples(nyu_frames, make_pred, make_rel=None):
    samples = []
    for i, f in enumerate(nyu_frames):
        gt = f['depth'].astype(np.float64)
        safe = np.where(f['valid'], gt, 1.0)
        samples.append(make_sample(
            make_pred(safe, i) if make_pred else None, f['depth'], f['valid'],
            rel=None if make_rel is None else make_rel(safe, i), dataset_name='nyu_v2',
            protocol=NYU, img_path=f['path']))
    return samples


def _assert_exact(m):
    assert m['abs_rel'] < 1e-6 and m['rmse'] < 1e-5 and m['silog'] < 1e-3, m
    assert m['d1'] == 1.0 and m['d3'] == 1.0


@pytest.mark.parametrize('alignment, make_pred', [
    ('median', lambda g, i: g / (2.0 + i)),
    ('lsq', lambda g, i: (0.5 + i) * g + 0.3 * i - 0.2),
    ('lsq_inverse', lambda g, i: 1.0 / ((1.5 + i) / g + 0.02 * i)),  # via 1 / pred_depth
])
def test_per_image_alignment_recovers_gt(nyu_frames, alignment, make_pred):
    samples = _nyu_samples(nyu_frames, make_pred)
    unaligned = run_metric(DepthMetric(), samples)
    assert unaligned['abs_rel'] > 0.05
    metric = DepthMetric(alignment=alignment)
    _assert_exact(run_metric(metric, samples))
    assert metric.protocol_summary()['nyu_v2']['alignment'] == alignment


def test_lsq_inverse_prefers_pred_rel_depth(nyu_frames):
    # pred_rel_depth is the exact affine inverse depth, pred_depth is garbage
    samples = _nyu_samples(nyu_frames, lambda g, i: np.full_like(g, 3.0),
                           lambda g, i: 2.0 / g + 0.1)
    _assert_exact(run_metric(DepthMetric(alignment='lsq_inverse'), samples))
    # pred_rel_depth at another resolution is ignored (falls back to 1 / pred_depth)
    s = make_sample(pred=[[2.0, 4.0, 8.0]], gt=[[2.0, 4.0, 8.0]], rel=[[1.0, 1.0]])
    _assert_exact(run_metric(DepthMetric(alignment='lsq_inverse'), [s]))


def test_global_alignment_shared_affine_recovers_gt(nyu_frames):
    samples = _nyu_samples(nyu_frames, None, lambda g, i: 0.8 / g - 0.01)
    metric = DepthMetric(alignment='global')
    _assert_exact(run_metric(metric, samples, as_dict=True))
    entry = metric.protocol_summary()['nyu_v2']
    assert entry['global_space'] == 'inverse'
    assert entry['global_scale'] == pytest.approx(1 / 0.8, rel=1e-6)
    samples = _nyu_samples(nyu_frames, lambda g, i: 0.25 * g + 0.5)
    _assert_exact(run_metric(DepthMetric(alignment='global', global_space='depth'), samples))


def test_global_alignment_matches_numpy(nyu_frames, np_metrics, np_eval_mask):
    affines = [(0.8, 0.0), (1.1, 0.03), (0.6, -0.02)]
    samples = _nyu_samples(nyu_frames, None, lambda g, i: affines[i][0] / g + affines[i][1])
    xs, ys, gts = [], [], []
    for s, f in zip(samples, nyu_frames):
        mask = np_eval_mask(f['depth'], 1e-3, 10.0, 'eigen') & f['valid']
        xs.append(s.pred_rel_depth.data[0].numpy()[mask].astype(np.float64))
        gts.append(f['depth'][mask].astype(np.float64))
        ys.append(1.0 / gts[-1])
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    (scale, shift), *_ = np.linalg.lstsq(np.stack([x_all, np.ones_like(x_all)], 1), y_all,
                                         rcond=None)
    refs = [np_metrics(np.clip(1.0 / np.maximum(scale * x + shift, 1e-8), 1e-3, 10.0), g)
            for x, g in zip(xs, gts)]
    for aggregation in ('per_image', 'pixel'):
        metric = DepthMetric(alignment='global', aggregation=aggregation)
        m = run_metric(metric, samples)
        if aggregation == 'per_image':
            expected = {k: np.mean([r[k] for r in refs]) for k in METRIC_KEYS}
        else:
            expected = np_metrics(np.clip(1.0 / np.maximum(scale * x_all + shift, 1e-8),
                                          1e-3, 10.0), np.concatenate(gts))
        for key in METRIC_KEYS:
            assert m[key] == pytest.approx(expected[key], rel=1e-6, abs=1e-10), key
        entry = metric.protocol_summary()['nyu_v2']
        assert entry['global_scale'] == pytest.approx(scale, rel=1e-9)
        assert entry['global_shift'] == pytest.approx(shift, rel=1e-6, abs=1e-12)
    # per-image lsq_inverse would recover these exactly; the global fit does not
    _assert_exact(run_metric(DepthMetric(alignment='lsq_inverse'), samples))
    assert m['abs_rel'] > 0.01


def test_global_alignment_fits_each_dataset_separately():
    a = make_sample(gt=[[1.0, 2.0, 4.0]], rel=[[2.0, 1.0, 0.5]], dataset_name='a')  # 2 / gt
    b = make_sample(gt=[[1.0, 2.0, 4.0]], rel=[[0.5, 0.25, 0.125]], dataset_name='b')  # / 2
    metric = DepthMetric(alignment='global')
    m = run_metric(metric, [a, b])
    _assert_exact({k: m[f'a/{k}'] for k in METRIC_KEYS})
    _assert_exact({k: m[f'b/{k}'] for k in METRIC_KEYS})
    summary = metric.protocol_summary()
    assert summary['a']['global_scale'] == pytest.approx(0.5)
    assert summary['b']['global_scale'] == pytest.approx(2.0)
