"""float32 depth decoding equals the float64 path it replaced, on the real frames; the flip."""
import cv2
import numpy as np
import pytest

from tr2m.datasets.depth_io import read_depth, read_uint16
from tr2m.datasets.transforms.geometric import flip_lr

UINT16_FORMATS = ('png_uint16', 'png_uint16_65535_invalid', 'png_uint16_sunrgbd_bitshift')


def float64_reference(path, fmt, scale):
    """The float64 decode as it was: ``raw / scale`` in float64, then float32, invalid = 0."""
    raw = read_uint16(path)
    if fmt == 'png_uint16_sunrgbd_bitshift':
        raw = (raw >> np.uint16(3)) | (raw << np.uint16(13))
    valid = raw > 0
    if fmt == 'png_uint16_65535_invalid':
        valid &= raw < 65535
    depth = (raw / float(scale)).astype(np.float32)
    valid = valid & np.isfinite(depth) & (depth > 0)
    return np.where(valid, depth, 0).astype(np.float32), valid


def ulp_distance(a, b):
    ia, ib = a.view(np.int32).astype(np.int64), b.view(np.int32).astype(np.int64)
    return np.abs(ia - ib)  # both non-negative floats: integer order is float order


def test_real_frames_equal_the_float64_path(rgbd_real, rgbd_manifest):
    frames = [f for f in rgbd_manifest if f['depth_format'] in UINT16_FORMATS]
    assert len(frames) >= 55  # NYU, KITTI, 7-Scenes, TUM, SUN RGB-D
    for frame in frames:
        path = str(rgbd_real / frame['depth'])
        depth, valid = read_depth(path, frame['depth_format'], frame['depth_scale'])
        ref, ref_valid = float64_reference(path, frame['depth_format'], frame['depth_scale'])
        assert depth.dtype == np.float32 and valid.dtype == np.bool_
        assert np.array_equal(valid, ref_valid), path
        # 1000, 256 and 5000 are exact in float32: the quotient is the same rounding
        assert ulp_distance(depth, ref).max() == 0, path
        assert (depth[~valid] == 0).all() and (depth[valid] > 0).all()


@pytest.mark.parametrize('scale', [1000.0, 65535.0 / 50.0, 3.3])
def test_inexact_scales_within_float32_rounding(tmp_path, scale):
    raw = np.arange(0, 65536, 7, dtype=np.uint16)[None, :]
    raw = np.concatenate([raw, raw[:, ::-1]])  # (2, W), 0 and 65535 included
    path = str(tmp_path / 'd.png')
    cv2.imwrite(path, raw)
    depth, valid = read_depth(path, 'png_uint16_65535_invalid', scale)
    ref, ref_valid = float64_reference(path, 'png_uint16_65535_invalid', scale)
    assert np.array_equal(valid, ref_valid)
    assert ulp_distance(depth, ref).max() <= 1  # one rounding of the scale to float32


@pytest.mark.parametrize('fmt,top', [('tiff_uint16_c3vd', 100.0), ('png_uint16_simcol', 200.0)])
def test_linear_formats_within_float32_rounding(tmp_path, fmt, top):
    raw = np.array([[0, 1, 32767, 65535]], np.uint16)
    path = str(tmp_path / ('d.tiff' if 'tiff' in fmt else 'd.png'))
    cv2.imwrite(path, raw)
    depth, valid = read_depth(path, fmt)
    ref = (raw * (top / 65535.0)).astype(np.float32)
    assert valid.tolist() == [[False, True, True, True]]
    assert depth[0, 3] == np.float32(top) and depth[0, 0] == 0
    assert ulp_distance(depth, ref).max() <= 2


@pytest.mark.parametrize('dtype', [np.uint8, np.uint16, np.float32, np.float64, np.bool_,
                                   np.int64, np.float16])
@pytest.mark.parametrize('shape', [(5, 7), (5, 7, 3), (5, 7, 1), (4, 6, 5)])
def test_flip_lr_equals_numpy(dtype, shape):
    arr = (np.random.default_rng(0).random(shape) * 200).astype(dtype)
    out = flip_lr(arr)
    assert out.dtype == arr.dtype and out.shape == arr.shape and out.flags.c_contiguous
    assert np.array_equal(out, arr[:, ::-1])
    assert np.array_equal(flip_lr(np.asfortranarray(arr)), arr[:, ::-1])
