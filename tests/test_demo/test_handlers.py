"""The demo's work without a browser: intrinsics from a field of view, the point-cloud view,
the caption sweep (one colour scale, the captions move the scale), one-line input errors, and
the offline demo model."""
import math

import numpy as np
import pytest

from tr2m.demo import DEMO_NOTE, build_demo_model
from tr2m.demo.handlers import (
    guess_intrinsics,
    predict,
    read_image,
    read_rel_depth,
    render_point_view,
    sweep,
    sweep_table,
)
from tr2m.utils.errors import DataError

FRAME = 'nyu_metric3d/rgb_00000.jpg'


@pytest.fixture(scope='module')
def model():
    return build_demo_model()


def test_guess_intrinsics():
    fx, fy, cx, cy = guess_intrinsics(480, 640, 90.0)  # tan(45 deg) = 1: f = W / 2
    assert (fx, fy, cx, cy) == pytest.approx((320.0, 320.0, 319.5, 239.5))
    assert guess_intrinsics(100, 200, 60.0)[0] == pytest.approx(100 / math.tan(math.pi / 6))
    with pytest.raises(DataError, match='field of view'):
        guess_intrinsics(10, 10, 0.0)


def test_point_view_draws_near_points_over_far_ones():
    points = np.array([[0, 0, 2.0], [0, 0, 1.0], [1, 1, 1.5], [-1, -1, 1.5]], np.float32)
    colors = np.array([[255, 0, 0], [0, 0, 255], [0, 255, 0], [0, 255, 0]], np.uint8)
    view = render_point_view(points, colors, yaw_deg=0.0, size=(50, 50))
    assert view.shape == (50, 50, 3)
    assert (view == [0, 0, 255]).all(-1).any() and not (view == [255, 0, 0]).all(-1).any()
    assert render_point_view(np.zeros((0, 3)), np.zeros((0, 3), np.uint8)).mean() == 245


def test_demo_model_is_deterministic_and_says_what_it_is(model, rgbd_real):
    import torch

    other = build_demo_model()
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert 'random' in DEMO_NOTE and model.demo_note == DEMO_NOTE


def test_predict_and_sweep(model, rgbd_real, tmp_path):
    image = str(rgbd_real / FRAME)
    out = predict(model, image, 'A room with a cabinet.', str(tmp_path / 'run'),
                  intrinsics=[500, 500, 320, 240])
    assert out['units'] == 'm' and out['intrinsics'] == [500.0, 500.0, 320.0, 240.0]
    assert [f.rsplit('.', 1)[1] for f in out['files']] == ['npy', 'png', 'ply']
    assert 'colour bar in m' in out['status'] and 'guessed' not in out['status']
    assert out['panels'].ndim == 3 and out['cloud'].shape == (360, 480, 3)

    result = sweep(model, image, ['A small bedroom.', '', 'A wide street far away.'])
    assert [r['caption'] for r in result['rows']] == ['A small bedroom.',
                                                      'A wide street far away.']
    scales = [r['scale'] for r in result['rows']]
    assert scales[0] != scales[1]  # the caption moves the scale map
    table = sweep_table(result['rows'], 'm')
    assert table.count('\n') == 3 and 'median scale A' in table
    with pytest.raises(DataError, match='at least two captions'):
        sweep(model, image, ['only one'])


def test_bad_inputs_are_one_line(model, rgbd_real, tmp_path):
    bad = tmp_path / 'notes.txt'
    bad.write_text('hello')
    with pytest.raises(DataError, match='notes.txt is not an image'):
        read_image(str(bad))
    with pytest.raises(DataError, match='upload an image'):
        read_image(None)
    rel = tmp_path / 'rel.npy'
    np.save(rel, np.ones((10, 10), np.float32))
    with pytest.raises(DataError, match=r'has size \(10, 10\), the image \(480, 640\)'):
        read_rel_depth(str(rel), (480, 640))
    with pytest.raises(DataError, match='type a caption'):
        predict(model, str(rgbd_real / FRAME), '  ', str(tmp_path / 'x'))
