"""The depth formats added for the public datasets (iBims-1 masks, HyperSim ray distance)."""
import cv2
import h5py
import numpy as np
import pytest

from tr2m.datasets import read_depth
from tr2m.datasets.depth_io import (
    DEPTH_FORMATS,
    depth_format_takes_intrinsics,
    ray_distance_to_planar_depth,
)
from tr2m.datasets.transforms import LoadDepth


def test_format_registry_flags():
    for name in ('png_uint16_ibims', 'hdf5_hypersim_distance', 'tiff_uint16_c3vd',
                 'png_uint16_simcol', 'npy', 'png_uint16_sunrgbd_bitshift'):
        assert name in DEPTH_FORMATS
    assert depth_format_takes_intrinsics('hdf5_hypersim_distance')
    assert not depth_format_takes_intrinsics('png_uint16')


def test_ibims_needs_its_masks(tmp_path):
    (tmp_path / 'depth').mkdir()
    raw = np.full((4, 5), 13107, np.uint16)  # 13107 * 50 / 65535 = 10 m
    cv2.imwrite(str(tmp_path / 'depth/a.png'), raw)
    with pytest.raises(FileNotFoundError, match='mask_invalid'):
        read_depth(str(tmp_path / 'depth/a.png'), 'png_uint16_ibims')
    for name in ('mask_invalid', 'mask_transp'):
        (tmp_path / name).mkdir()
        mask = np.ones((4, 5), np.uint8)
        mask[0, 0] = 0
        cv2.imwrite(str(tmp_path / name / 'a.png'), mask)
    depth, valid = read_depth(str(tmp_path / 'depth/a.png'), 'png_uint16_ibims')
    assert not valid[0, 0] and valid.sum() == 19
    np.testing.assert_allclose(depth[valid], 10.0, rtol=1e-6)


def test_ray_distance_conversion_by_hand():
    dist = np.array([[5.0, 5.0]])
    # pixel 0 on the optical axis, pixel 1 one focal length (fx = 1) to the right: 45 degrees
    depth = ray_distance_to_planar_depth(dist, [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(depth, [[5.0, 5.0 / np.sqrt(2.0)]])


def test_load_depth_passes_original_intrinsics(tmp_path):
    path = tmp_path / 'd.hdf5'
    with h5py.File(path, 'w') as f:
        f.create_dataset('dataset', data=np.array([[5.0, 5.0]]))
    base = dict(depth_path=str(path), depth_format='hdf5_hypersim_distance', depth_scale=None,
                img_shape=(1, 2), ori_shape=(1, 2))
    # manifest-style sample: intrinsics of the untouched image are used
    out = LoadDepth()(dict(base, intrinsics=[1.0, 1.0, 0.0, 0.0]))
    np.testing.assert_allclose(out['gt_depth'], [[5.0, 5.0 / np.sqrt(2.0)]], rtol=1e-6)
    # depth_intrinsics win over (possibly transformed) intrinsics
    out = LoadDepth()(dict(base, intrinsics=[1.0, 1.0, 9.0, 9.0],
                           depth_intrinsics=[1.0, 1.0, 0.0, 0.0]))
    np.testing.assert_allclose(out['gt_depth'], [[5.0, 5.0 / np.sqrt(2.0)]], rtol=1e-6)
