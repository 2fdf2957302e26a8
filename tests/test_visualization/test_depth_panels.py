"""Depth panels and colour bars on real frames, checked as arrays: the bar's colours, its tick
labels (drawn text found by template matching, values in metres inside the range), invalid
pixels hatched in neutral greys that no colour map contains (never the colour of "far"), and
the metrics written under the panels equal to the evaluation's."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from tr2m.datasets.depth_io import read_depth, read_rgb
from tr2m.evaluation import DepthMetric
from tr2m.functional import compute_depth_metrics, eval_mask
from tr2m.structures import DepthDataSample
from tr2m.visualization import depth_panels as dp
from tr2m.visualization.layout import _font_scale

NYU_PROTOCOL = dict(min_depth=1e-3, max_depth=10.0, crop='eigen', units='m')


def _frame(rgbd_real, rgbd_manifest, dataset):
    frame = next(f for f in rgbd_manifest if f['dataset'] == dataset)
    rgb = read_rgb(str(rgbd_real / frame['rgb']))
    gt, valid = read_depth(str(rgbd_real / frame['depth']), frame['depth_format'],
                           frame['depth_scale'])
    return rgb, gt, valid


@pytest.fixture(scope='module')
def nyu(rgbd_real, rgbd_manifest):
    """A real NYUv2 frame, a prediction that is off by a horizontal ramp, fake A and B."""
    rgb, gt, valid = _frame(rgbd_real, rgbd_manifest, 'nyu_v2')
    pred = np.where(valid, gt, np.median(gt[valid])) * np.linspace(0.8, 1.2, gt.shape[1])[None]
    scale = np.linspace(0.5, 2.0, gt.size, dtype=np.float32).reshape(gt.shape)
    shift = scale * 0.1
    fig = dp.render_panels(rgb, pred.astype(np.float32), gt, valid, scale, shift,
                           caption='A kitchen with wooden cabinets.', protocol=NYU_PROTOCOL)
    return dict(rgb=rgb, gt=gt, valid=valid, pred=pred.astype(np.float32), fig=fig)


def _lut_index(color, cmap='turbo'):
    """Index of the look-up-table entry nearest to an RGB colour."""
    lut = dp.colormap_lut(cmap).astype(int)
    return int(np.abs(lut - np.asarray(color, int)).sum(1).argmin())


def _text_found(image, text, fs, x_range, y_range):
    """Normalised correlation of ``text`` drawn as the renderer draws it, searched in the
    image window; >= 0.9 means the text is there."""
    (tw, th), base = cv2.getTextSize(text, dp.FONT, fs, 1)
    patch = np.full((th + base + 4, tw + 4, 3), 255, np.uint8)
    cv2.putText(patch, text, (2, th + 1), dp.FONT, fs, dp.TEXT, 1, cv2.LINE_AA)
    x0, x1 = max(0, x_range[0]), min(image.shape[1], x_range[1])
    y0, y1 = max(0, y_range[0]), min(image.shape[0], y_range[1])
    window = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    templ = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)
    if window.shape[0] < templ.shape[0] or window.shape[1] < templ.shape[1]:
        return 0.0
    return float(cv2.matchTemplate(window, templ, cv2.TM_CCOEFF_NORMED).max())


def test_panels_of_a_real_frame(nyu):
    fig = nyu['fig']
    assert list(fig.panels) == ['image', 'gt', 'pred', 'error', 'scale', 'shift']
    assert fig.image.dtype == np.uint8 and fig.image.shape[2] == 3
    # the depth range: 1st..99th percentile of the valid GT, shared by GT and prediction
    lo, hi = np.percentile(nyu['gt'][nyu['valid']], (1, 99))
    np.testing.assert_allclose(fig.depth_range, (lo, hi), rtol=1e-6)
    for name in ('gt', 'pred'):
        assert fig.panels[name].vrange == fig.depth_range and fig.panels[name].unit == 'm'
    # panels keep the frame's aspect ratio (480 x 640 -> 240 x 320)
    x0, y0, x1, y1 = fig.panels['gt'].box
    assert (x1 - x0, y1 - y0) == (320, 240)


def test_colour_bar_is_drawn_and_labelled_in_metres(nyu):
    fig = nyu['fig']
    lo, hi = fig.depth_range
    for name in ('gt', 'pred'):
        layout = fig.panels[name]
        bx0, by0, bx1, by1 = layout.bar_box
        bar = fig.image[by0:by1, bx0:bx1].astype(int)
        assert (bar == bar[:1]).all()  # every row of the bar is the same gradient
        # column x shows t = 1 - x / (W - 1): near (warm) on the left, far on the right
        idx = np.array([_lut_index(c) for c in bar[0]])
        expected = np.round((1 - np.arange(bx1 - bx0) / (bx1 - bx0 - 1)) * 255)
        assert np.abs(idx - expected).max() <= 1
        # ticks: round metres inside the range, in order, each where its depth's colour is
        labels = [t.label for t in layout.ticks]
        assert labels == ['2 m', '3 m', '4 m', '5 m', '6 m'] and lo < 2 and hi > 6
        for tick in layout.ticks:
            t = float(dp.depth_to_unit(np.array([tick.value]), lo, hi)[0])
            assert abs(_lut_index(fig.image[by0, tick.x]) - t * 255) <= 2
            fs = _font_scale(320)
            score = _text_found(fig.image, tick.label, fs, (tick.x - 40, tick.x + 40),
                                (by1, by1 + 30))
            assert score > 0.9, (tick.label, score)
        # the linear bar's ticks are evenly spaced, one metre apart
        xs = [t.x for t in layout.ticks]
        assert max(np.diff(xs)) - min(np.diff(xs)) <= 1


def test_invalid_pixels_are_hatched_not_far(nyu):
    fig = nyu['fig']
    x0, y0, x1, y1 = fig.panels['gt'].box
    panel = fig.image[y0:y1, x0:x1].astype(int)
    shown, shown_valid = dp.resize_masked(nyu['gt'], nyu['valid'], (y1 - y0, x1 - x0))
    neutral = (panel.max(2) - panel.min(2)) == 0
    greys = set(np.unique(panel[..., 0][neutral]).tolist())
    assert greys == set(dp.HATCH_GREYS)  # both stripes of the hatching, nothing else
    np.testing.assert_array_equal(neutral, ~shown_valid)  # exactly the pixels without GT
    far = dp.colormap_lut('turbo')[0].astype(int)
    assert np.abs(panel[~shown_valid] - far).sum(1).min() > 100
    # far GT pixels are drawn in the far colour, never grey
    farthest = shown_valid & (shown >= fig.depth_range[1])
    assert farthest.any() and not neutral[farthest].any()
    # the error panel hatches what the evaluation leaves out (Eigen crop border included)
    ex0, ey0, ex1, ey1 = fig.panels['error'].box
    err = fig.image[ey0:ey1, ex0:ex1].astype(int)
    assert ((err.max(2) - err.min(2)) == 0)[:5].all()  # above the crop: not evaluated


def test_metrics_under_the_panels_equal_the_evaluation(nyu):
    gt = torch.from_numpy(nyu['gt']).double()
    mask = eval_mask(gt, 1e-3, 10.0, 'eigen') & torch.from_numpy(nyu['valid'])
    pred = torch.from_numpy(nyu['pred']).double().clamp(1e-3, 10.0)
    ref = compute_depth_metrics(pred, gt, mask)
    assert nyu['fig'].metrics['pred'] == pytest.approx(ref)
    # ... and equal to what DepthMetric reports for the same sample
    sample = DepthDataSample(metainfo=dict(protocol=NYU_PROTOCOL, dataset_name='nyu'))
    sample.gt_depth = PixelData(data=torch.from_numpy(nyu['gt'])[None])
    sample.gt_valid = PixelData(data=torch.from_numpy(nyu['valid'])[None])
    sample.pred_depth = PixelData(data=torch.from_numpy(nyu['pred'])[None])
    metric = DepthMetric()
    metric.process(None, [sample])
    scored = metric.compute_metrics(metric.results)
    assert scored['abs_rel'] == pytest.approx(ref['abs_rel'], rel=1e-6)
    # the caption and the metrics line are written under the panels
    fig = nyu['fig']
    bottom = max(p.bar_box[3] if p.bar_box else p.box[3] for p in fig.panels.values())
    fs = _font_scale(320)
    text = 'caption: "A kitchen with wooden cabinets."'
    assert _text_found(fig.image, text, fs, (0, fig.image.shape[1]),
                       (bottom + 10, fig.image.shape[0])) > 0.9
    line = dp.format_metrics(ref, 'm')
    assert line.startswith(f"AbsRel {ref['abs_rel']:.3f}  RMSE {ref['rmse']:.3g} m")
    assert _text_found(fig.image, line, fs, (0, fig.image.shape[1]),
                       (bottom + 10, fig.image.shape[0])) > 0.9


def test_fixed_and_protocol_ranges_grey_invalid_and_mm_units(rgbd_real, rgbd_manifest):
    rgb, gt, valid = _frame(rgbd_real, rgbd_manifest, 'nyu_v2')
    style = dp.DepthStyle(depth_range=(1.0, 5.0), invalid='grey', cmap='spectral')
    fig = dp.render_panels(rgb, gt, gt, valid, protocol=NYU_PROTOCOL, style=style)
    assert fig.depth_range == (1.0, 5.0)
    assert [t.label for t in fig.panels['gt'].ticks] == ['1 m', '2 m', '3 m', '4 m', '5 m']
    x0, y0, x1, y1 = fig.panels['gt'].box
    panel = fig.image[y0:y1, x0:x1]
    neutral = (panel.max(2) == panel.min(2))
    assert set(np.unique(panel[neutral][:, 0]).tolist()) == {dp.INVALID_GREY}
    assert 'scale' not in fig.panels and 'error' in fig.panels  # no A/B given
    fig = dp.render_panels(rgb, gt, gt, valid, protocol=NYU_PROTOCOL,
                           style=dp.DepthStyle(depth_range='protocol'))
    assert fig.depth_range == (1e-3, 10.0)
    # millimetres (C3VD-like): the unit comes from the protocol, on bars and titles
    mm = dict(min_depth=0.0, max_depth=100.0, crop=None, units='mm')
    fig = dp.render_panels(rgb, gt * 10, gt * 10, valid, np.ones_like(gt), np.ones_like(gt),
                           protocol=mm)
    assert all(t.label.endswith(' mm') for t in fig.panels['pred'].ticks)
    # A = B = 1 everywhere: a constant map says so instead of drawing a colour bar
    assert fig.panels['scale'].title == 'scale A (1/mm): constant 1' and fig.units == 'mm'
    # without GT: image, prediction (and maps) only, no metrics line
    fig = dp.render_panels(rgb, gt + 1.0)
    assert list(fig.panels) == ['image', 'pred'] and fig.metrics['pred'] is None


def test_sparse_gt_survives_downscaling(rgbd_real, rgbd_manifest):
    rgb, gt, valid = _frame(rgbd_real, rgbd_manifest, 'kitti')
    assert valid.mean() < 0.3  # LiDAR GT: sparse
    small, ok = dp.resize_masked(gt, valid, (97, 320))
    # every output pixel with a valid input under it shows their mean
    frac = cv2.resize(valid.astype(np.float32), (320, 97), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(ok, frac > 1e-6)
    assert ok.mean() > 2 * valid.mean()
    assert small[ok].min() >= gt[valid].min() - 1e-3 and small[ok].max() <= gt[valid].max() + 1e-3


def test_comparison_of_two_models(nyu):
    pred_b = np.full_like(nyu['gt'], float(np.median(nyu['gt'][nyu['valid']])))
    fig = dp.render_comparison(nyu['rgb'], [dict(depth=nyu['pred']), dict(depth=pred_b)],
                               ['ours', 'constant'], nyu['gt'], nyu['valid'],
                               caption='x', protocol=NYU_PROTOCOL)
    assert list(fig.panels) == ['image', 'pred_0', 'pred_1', 'gt', 'error_0', 'error_1']
    for i in (0, 1):  # each model's error sits under its prediction
        assert fig.panels[f'pred_{i}'].box[0] == fig.panels[f'error_{i}'].box[0]
    # one colour scale for both predictions and both errors
    assert fig.panels['pred_0'].vrange == fig.panels['pred_1'].vrange == fig.depth_range
    assert fig.panels['error_0'].vrange == fig.panels['error_1'].vrange
    mask = dp.evaluation_mask(nyu['gt'], nyu['valid'], NYU_PROTOCOL)
    assert fig.metrics['ours'] == pytest.approx(nyu['fig'].metrics['pred'])
    assert fig.metrics['constant'] == pytest.approx(
        dp.image_metrics(pred_b, nyu['gt'], mask, NYU_PROTOCOL))
    assert fig.metrics['ours']['abs_rel'] < fig.metrics['constant']['abs_rel']
    with pytest.raises(ValueError, match='>= 2 predictions'):
        dp.render_comparison(nyu['rgb'], [dict(depth=nyu['pred'])], ['a'])


def test_a_constant_map_says_constant_without_a_bar():
    rng = np.random.default_rng(0)
    pred = rng.uniform(1.0, 5.0, (24, 32)).astype(np.float32)
    scale = rng.uniform(0.5, 2.0, pred.shape).astype(np.float32)
    dead = np.full(pred.shape, 1e-9, np.float32)  # a dead softplus shift on its floor
    dead[3, 4] = np.float32(1e-9) * (1 + 1e-7)  # below the relative tolerance 1e-6
    fig = dp.render_panels(None, pred, scale=scale, shift=dead,
                           style=dp.DepthStyle(panel_width=160))
    assert fig.panels['shift'].title == 'shift B (1/m): constant 1e-09'
    assert fig.panels['shift'].bar_box is None and fig.panels['shift'].ticks == []
    assert fig.panels['scale'].title == 'scale A (1/m)'  # a varying map keeps its bar
    assert fig.panels['scale'].bar_box is not None and fig.panels['scale'].ticks
    # one colour: the constant panel's picture is a single colour
    x0, y0, x1, y1 = fig.panels['shift'].box
    assert len(np.unique(fig.image[y0:y1, x0:x1].reshape(-1, 3), axis=0)) == 1
    # the helper: constant (zero, too: a scale-only model's B = 0), varying, nothing finite
    assert dp.constant_value(np.zeros((2, 2))) == 0.0
    assert dp.constant_value(np.array([[1.0, 1.1]])) is None
    assert dp.constant_value(np.array([[np.nan, np.inf]])) is None
    assert dp.constant_value(np.array([[2.0, np.nan]])) == 2.0
