"""Released photometric augmentation and NYUv2's valid box."""
import numpy as np
import pytest

from projects.newcrfs.newcrfs import NeWCRFsColorAugment, NeWCRFsValidBox, color_augment


def test_color_augment_by_hand():
    img = np.full((2, 2, 3), 100, np.uint8)
    np.testing.assert_array_equal(color_augment(img, 1.0, 1.0, (1, 1, 1)), img)
    out = color_augment(img, 1.0, 2.0, (1.0, 0.5, 1.5))
    np.testing.assert_array_equal(out[0, 0], [200, 100, 255])  # 300 clips to 255
    # gamma on [0, 1]: (100 / 255) ** 2 * 255 = 39.2 -> 39
    assert color_augment(img, 2.0, 1.0, (1, 1, 1))[0, 0, 0] == 39


def test_color_augment_probability_and_ranges():
    np.random.seed(0)
    img = np.full((4, 4, 3), 128, np.uint8)
    untouched = NeWCRFsColorAugment(prob=0.0)(dict(img=img.copy()))
    np.testing.assert_array_equal(untouched['img'], img)
    t = NeWCRFsColorAugment(prob=1.0, gamma=(1, 1), brightness=(0.9, 1.1), color=(1, 1))
    values = [t(dict(img=img.copy()))['img'][0, 0, 0] for _ in range(50)]
    assert min(values) >= round(128 * 0.9) and max(values) <= round(128 * 1.1)
    assert len(set(values)) > 5
    with pytest.raises(ValueError, match='prob'):
        NeWCRFsColorAugment(prob=1.5)


def test_valid_box_invalidates_the_border():
    depth = np.ones((480, 640), np.float32)
    out = NeWCRFsValidBox()(dict(gt_depth=depth.copy(), gt_valid=depth > 0))
    assert out['gt_valid'].sum() == (472 - 45) * (608 - 43)
    assert out['gt_depth'][44, 300] == 0 and out['gt_depth'][45, 43] == 1
    assert out['gt_depth'][471, 607] == 1 and out['gt_depth'][472, 607] == 0
    np.testing.assert_array_equal(out['gt_valid'], out['gt_depth'] > 0)
