"""``RandomRotate``: direction and centre as PIL's ``Image.rotate``, nearest depth, masks follow."""
import numpy as np
import pytest
from PIL import Image

from tr2m.datasets.transforms import RandomRotate


def sample(h=5, w=5, seed=0):
    rng = np.random.default_rng(seed)
    depth = rng.uniform(1, 5, (h, w)).astype(np.float32)
    valid = depth > 2
    img = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    return dict(img=img, gt_depth=np.where(valid, depth, 0).astype(np.float32), gt_valid=valid,
                depth_fields=['gt_depth', 'gt_valid'], intrinsics=[10.0, 10.0, 2.0, 2.0],
                img_shape=(h, w), ori_shape=(h, w), img_path='x.png')


def test_quarter_turn_is_rot90_counter_clockwise():
    src = sample()
    out = {k: RandomRotate.rotate(src[k], 90.0, nearest=k != 'img')
           for k in ('img', 'gt_depth', 'gt_valid')}
    # a quarter turn of an odd square about its centre maps pixel centres onto pixel centres
    np.testing.assert_array_equal(out['gt_depth'], np.rot90(src['gt_depth']))
    np.testing.assert_array_equal(out['gt_valid'], np.rot90(src['gt_valid']))
    np.testing.assert_array_equal(out['img'], np.rot90(src['img']))
    assert out['gt_valid'].dtype == np.bool_


def test_matches_pil_rotate_of_the_released_code():
    # NeWCRFs / BTS rotate PIL images: Image.rotate(angle, resample=NEAREST) for depth
    rng = np.random.default_rng(1)
    blocks = rng.uniform(1, 9, (12, 16)).astype(np.float32)
    depth = np.kron(blocks, np.ones((5, 5), np.float32))  # 60 x 80, piecewise constant
    ours = RandomRotate.rotate(depth, 2.5, nearest=True)
    pil = np.asarray(Image.fromarray(depth).rotate(2.5, resample=Image.NEAREST))
    assert (ours == pil).mean() > 0.99  # same direction and centre; ties at cell borders
    opposite = RandomRotate.rotate(depth, -2.5, nearest=True)
    assert (opposite == pil).mean() < 0.95


def test_outside_pixels_are_invalid_and_depth_is_not_invented():
    np.random.seed(0)
    src = sample(40, 60)
    src['gt_valid'][:] = True
    src['gt_depth'] = np.random.uniform(1, 5, (40, 60)).astype(np.float32)
    r = RandomRotate(max_angle=20.0)(dict(src, gt_depth=src['gt_depth'].copy(),
                                          gt_valid=src['gt_valid'].copy()))
    angle = r['rotate_angle']
    assert 0 < abs(angle) <= 20.0
    # corners come from outside the frame: no depth, not valid, black
    for y, x in [(0, 0), (0, -1), (-1, 0), (-1, -1)]:
        assert r['gt_depth'][y, x] == 0 and not r['gt_valid'][y, x] and (r['img'][y, x] == 0).all()
    # nearest neighbour: every depth is an input depth, and validity follows the depth
    assert set(np.unique(r['gt_depth'])) <= set(np.unique(src['gt_depth'])) | {0.0}
    np.testing.assert_array_equal(r['gt_valid'], r['gt_depth'] > 0)
    assert r['intrinsics'] == src['intrinsics'] and r['gt_depth'].dtype == np.float32


def test_angle_range_prob_and_arguments():
    np.random.seed(0)
    t = RandomRotate(max_angle=2.5)
    angles = [t(sample())['rotate_angle'] for _ in range(200)]
    assert max(angles) <= 2.5 and min(angles) >= -2.5
    assert min(angles) < -2.0 and max(angles) > 2.0  # uniform over the whole range
    src = sample()
    r = RandomRotate(max_angle=2.5, prob=0.0)(sample())
    assert r['rotate_angle'] == 0.0
    np.testing.assert_array_equal(r['gt_depth'], src['gt_depth'])
    with pytest.raises(ValueError, match='max_angle'):
        RandomRotate(max_angle=-1)
    with pytest.raises(ValueError, match='prob'):
        RandomRotate(max_angle=1, prob=2)
