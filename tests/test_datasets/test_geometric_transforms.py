"""Resize / flip / crop keep image, depth, mask and intrinsics consistent."""
import numpy as np
import pytest

from tr2m.datasets.transforms import CenterCrop, KBCrop, RandomCrop, RandomFlip, Resize


def sample(h=6, w=8):
    rng = np.random.default_rng(0)
    depth = rng.uniform(1, 5, (h, w)).astype(np.float32)
    valid = depth > 2
    img = np.stack([depth * 10] * 3, -1).astype(np.uint8)
    return dict(img=img, gt_depth=np.where(valid, depth, 0), gt_valid=valid,
                depth_fields=['gt_depth', 'gt_valid'], intrinsics=[10.0, 10.0, 3.5, 2.5],
                img_shape=(h, w), ori_shape=(h, w), img_path='x.png')


def test_resize_depth_nearest_and_intrinsics():
    r = Resize(scale=(12, 16))(sample())
    assert r['img'].shape == (12, 16, 3) and r['gt_depth'].shape == (12, 16)
    src = sample()
    # nearest neighbour: every output value exists in the input, and the mask follows it
    assert set(np.unique(r['gt_depth'])) <= set(np.unique(src['gt_depth']))
    assert ((r['gt_depth'] > 0) == r['gt_valid']).all()
    # doubling: fx doubles, the principal point follows pixel centres
    assert r['intrinsics'] == [20.0, 20.0, 7.5, 5.5]


def test_resize_keep_ratio_divisor_and_gt_left_alone():
    r = Resize(scale=(28, 28), keep_ratio=True, size_divisor=14, resize_depth=False)(sample())
    assert r['img'].shape[:2] == (28, 28)  # 6x8 fit into 28x28 -> 21x28 -> rounded to 14s
    assert r['gt_depth'].shape == (6, 8) and r['depth_fields'] == []
    with pytest.raises(ValueError, match='keep_ratio'):
        Resize(scale=(4, 4), keep_ratio='yes')


def test_flip_mirrors_everything():
    np.random.seed(0)
    s = sample()
    r = RandomFlip(prob=1.0)(sample())
    assert r['flip'] is True
    np.testing.assert_array_equal(r['gt_depth'], s['gt_depth'][:, ::-1])
    np.testing.assert_array_equal(r['gt_valid'], s['gt_valid'][:, ::-1])
    assert r['intrinsics'][2] == 8 - 1 - 3.5


def test_crops_shift_the_principal_point():
    np.random.seed(1)
    s = sample()
    r = RandomCrop((4, 4))(sample())
    dx, dy = 3.5 - r['intrinsics'][2], 2.5 - r['intrinsics'][3]
    np.testing.assert_array_equal(r['gt_depth'], s['gt_depth'][int(dy):int(dy) + 4,
                                                               int(dx):int(dx) + 4])
    c = CenterCrop((2, 4), update_ori_shape=True)(sample())
    np.testing.assert_array_equal(c['gt_valid'], s['gt_valid'][2:4, 2:6])
    assert c['ori_shape'] == (2, 4)
    k = KBCrop((4, 6))(sample())  # bottom centre
    np.testing.assert_array_equal(k['gt_depth'], s['gt_depth'][2:6, 1:7])
    with pytest.raises(ValueError, match='x.png'):
        RandomCrop((10, 10))(sample())
