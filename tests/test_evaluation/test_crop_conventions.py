"""The explicit crop conventions: Eigen at fixed or scaled indices, Garg on the KB-cropped GT
(ZoeDepth / Depth Anything / RSA's code) or on the full frame (BTS's bts_eval.py), the
``gt_window`` that KBCrop records, and what the protocol summary says."""
import numpy as np
import pytest
import torch

from tr2m.datasets.transforms import KBCrop, PackDepthInputs
from tr2m.evaluation import DepthMetric
from tr2m.evaluation.functional import crop_box, crop_convention, eval_mask

from ._samples import make_sample, run_metric

KITTI = dict(min_depth=1e-3, max_depth=80.0, crop='garg', units='m')


def box_mask(shape, box):
    m = torch.zeros(shape, dtype=torch.bool)
    top, bottom, left, right = box
    m[top:bottom, left:right] = True
    return m


def test_garg_conventions_hand_computed():
    # full 375 x 1242 KITTI frame: int(0.40810811 * 375) = 153, int(0.99189189 * 375) = 371,
    # int(0.03594771 * 1242) = 44, int(0.96405229 * 1242) = 1197
    assert crop_box('garg', 375, 1242) == (153, 371, 44, 1197)
    # the KB crop of that frame starts at row 375 - 352 = 23, column (1242 - 1216) // 2 = 13
    window = (23, 13, 375, 1242)
    assert crop_box('garg', 352, 1216) == (143, 349, 43, 1172)  # ZoeDepth / DA / RSA
    assert crop_box('garg', 352, 1216, garg='gt_frame', gt_window=window) == (143, 349, 43, 1172)
    assert crop_box('garg', 352, 1216, garg='full_frame', gt_window=window) == (
        153 - 23, 371 - 23, 44 - 13, 1197 - 13)  # BTS, in KB-crop coordinates
    # no window: the GT is its own full frame, both conventions agree
    assert crop_box('garg', 352, 1216, garg='full_frame') == (143, 349, 43, 1172)
    # the full-frame box is clipped to the GT
    assert crop_box('garg', 10, 10, garg='full_frame', gt_window=(0, 0, 12, 12)) == (4, 10, 0, 10)
    full = box_mask((352, 1216), (130, 348, 31, 1184)).sum()
    kb = box_mask((352, 1216), (143, 349, 43, 1172)).sum()
    assert int(full) == 218 * 1153 and int(kb) == 206 * 1129  # 8.1% more pixels in the box


def test_eigen_conventions_through_eval_mask():
    gt = torch.full((2, 1, 240, 320), 3.0)
    fixed = eval_mask(gt, 1e-3, 10.0, 'eigen')
    assert torch.equal(fixed[0, 0], box_mask((240, 320), (45, 240, 41, 320)))
    scaled = eval_mask(gt, 1e-3, 10.0, 'eigen', eigen='scaled')
    assert torch.equal(scaled[1, 0], box_mask((240, 320), (22, 235, 20, 300)))
    assert torch.equal(eval_mask(gt, 1e-3, 10.0, 'garg', garg='full_frame',
                                 gt_window=(5, 6, 250, 340))[0, 0],
                       box_mask((240, 320), (int(0.40810811 * 250) - 5,
                                             int(0.99189189 * 250) - 5,
                                             int(0.03594771 * 340) - 6,
                                             int(0.96405229 * 340) - 6)))


def test_conventions_bad_arguments():
    with pytest.raises(ValueError, match='fixed'):
        crop_box('eigen', 480, 640, eigen='literal')
    with pytest.raises(ValueError, match='gt_frame'):
        crop_box('garg', 352, 1216, garg='kb')
    with pytest.raises(ValueError, match='does not hold'):
        crop_box('garg', 352, 1216, garg='full_frame', gt_window=(30, 13, 375, 1242))
    with pytest.raises(ValueError, match='top, left'):
        crop_box('garg', 352, 1216, garg='full_frame', gt_window=(30, 13))
    with pytest.raises(ValueError, match='eigen_crop'):
        DepthMetric(eigen_crop='literal')
    with pytest.raises(ValueError, match='garg_crop'):
        DepthMetric(garg_crop='kb')
    assert crop_convention(None) is None
    assert crop_convention('eigen', eigen='scaled') == 'scaled'
    assert crop_convention('garg', garg='full_frame') == 'full_frame'


def test_kbcrop_records_the_window_and_pack_carries_it(kitti_frames):
    f = kitti_frames[0]
    h, w = f['depth'].shape
    results = dict(img=np.zeros((h, w, 3), np.uint8), gt_depth=f['depth'],
                   gt_valid=f['valid'], depth_fields=['gt_depth', 'gt_valid'])
    out = KBCrop()(results)
    assert out['gt_depth'].shape == (352, 1216)
    assert out['gt_window'] == (23, 13, 375, 1242)
    np.testing.assert_array_equal(out['gt_depth'], f['depth'][23:, 13:13 + 1216])
    packed = PackDepthInputs()(out)
    assert packed['data_samples'].metainfo['gt_window'] == (23, 13, 375, 1242)
    # a second crop composes with the first window
    inner = KBCrop(size=(300, 1200))(dict(out))
    assert inner['gt_window'] == (23 + 52, 13 + 8, 375, 1242)


def _kb_samples(kitti_frames, perturb):
    samples, refs = [], []
    for i, f in enumerate(kitti_frames):
        pred_full = perturb(f['depth'], 30 + i)
        results = dict(img=np.zeros(f['depth'].shape + (3,), np.uint8), gt_depth=f['depth'],
                       gt_valid=f['valid'], pred=pred_full,
                       depth_fields=['gt_depth', 'gt_valid', 'pred'])
        out = KBCrop()(results)
        s = make_sample(out['pred'], out['gt_depth'], out['gt_valid'], dataset_name='kitti',
                        protocol=KITTI, img_path=f['path'])
        s.set_metainfo(dict(gt_window=out['gt_window']))
        samples.append(s)
        refs.append((f, pred_full))
    return samples, refs


def bts_full_frame(gt, pred_full, min_d=1e-3, max_d=80.0):
    """BTS's bts_eval.py: the KB-crop prediction pasted into a zero full frame, clamped, and
    the Garg box on the full GT; returns (abs_rel, number of pixels)."""
    h, w = gt.shape
    top, left = h - 352, (w - 1216) // 2
    pred = np.zeros((h, w), np.float32)
    pred[top:top + 352, left:left + 1216] = pred_full[top:top + 352, left:left + 1216]
    pred = np.clip(pred, min_d, max_d)
    valid = (gt > min_d) & (gt < max_d)
    box = np.zeros_like(valid)
    box[int(0.40810811 * h):int(0.99189189 * h), int(0.03594771 * w):int(0.96405229 * w)] = 1
    m = valid & box
    return np.mean(np.abs(pred[m] - gt[m]) / gt[m]), int(m.sum())


def zoedepth_kb(gt, pred_full, min_d=1e-3, max_d=80.0):
    """ZoeDepth's compute_metrics with do_kb_crop + garg_crop: both cropped, box on 352x1216."""
    h, w = gt.shape
    top, left = h - 352, (w - 1216) // 2
    g = gt[top:top + 352, left:left + 1216]
    p = np.clip(pred_full[top:top + 352, left:left + 1216], min_d, max_d)
    valid = (g > min_d) & (g < max_d)
    box = np.zeros_like(valid)
    box[int(0.40810811 * 352):int(0.99189189 * 352),
        int(0.03594771 * 1216):int(0.96405229 * 1216)] = 1
    m = valid & box
    return np.mean(np.abs(p[m] - g[m]) / g[m]), int(m.sum())


def test_both_garg_conventions_match_their_toolboxes(kitti_frames, perturb):
    samples, refs = _kb_samples(kitti_frames, perturb)
    full = DepthMetric(garg_crop='full_frame')
    kb = DepthMetric()  # default: on the KB-cropped GT
    m_full, m_kb = run_metric(full, samples, as_dict=True), run_metric(kb, samples)
    bts = [bts_full_frame(f['depth'], p) for f, p in refs]
    zoe = [zoedepth_kb(f['depth'], p) for f, p in refs]
    assert m_full['abs_rel'] == pytest.approx(np.mean([b[0] for b in bts]), rel=1e-6)
    assert m_kb['abs_rel'] == pytest.approx(np.mean([z[0] for z in zoe]), rel=1e-6)
    assert [r['num_valid'] for r in full.per_image_metrics()] == [b[1] for b in bts]
    assert [r['num_valid'] for r in kb.per_image_metrics()] == [z[1] for z in zoe]
    # the full frame holds more valid LiDAR pixels (rows 153..165 and the outer columns)
    assert all(b[1] > z[1] for b, z in zip(bts, zoe))
    assert full.protocol_summary()['kitti']['crop_convention'] == 'full_frame'
    assert kb.protocol_summary()['kitti']['crop_convention'] == 'gt_frame'


def test_eigen_convention_recorded_and_applied():
    gt = np.full((240, 320), 4.0, np.float32)
    pred = gt.copy()
    proto = dict(min_depth=1e-3, max_depth=10.0, crop='eigen', units='m')
    fixed, scaled = DepthMetric(), DepthMetric(eigen_crop='scaled')
    run_metric(fixed, [make_sample(pred, gt, protocol=proto)])
    run_metric(scaled, [make_sample(pred, gt, protocol=proto)])
    assert fixed.per_image_metrics()[0]['num_valid'] == (240 - 45) * (320 - 41)
    assert scaled.per_image_metrics()[0]['num_valid'] == (235 - 22) * (300 - 20)
    assert fixed.protocol_summary()['toy']['crop_convention'] == 'fixed'
    assert scaled.protocol_summary()['toy']['crop_convention'] == 'scaled'
    # no crop: no convention
    none = DepthMetric(crop=None)
    run_metric(none, [make_sample(pred, gt, protocol=proto)])
    assert none.protocol_summary()['toy']['crop_convention'] is None
