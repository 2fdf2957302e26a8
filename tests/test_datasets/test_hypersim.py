import math

import h5py
import numpy as np
import pytest

from tr2m.datasets import HyperSimDataset, read_depth
from tr2m.datasets.depth_io import hypersim_default_intrinsics
from tr2m.datasets.hypersim import hypersim_depth_of
from tr2m.datasets.transforms import LoadDepth, LoadRGBImage, Resize
from tr2m.structures import DepthProtocol

from ._trees import NYU_K


def test_hypersim_ray_distance_round_trip(trees):
    ds = HyperSimDataset(data_root=str(trees.hypersim), intrinsics=NYU_K,
                         caption_source=dict(type='JSONCaptionSource',
                                             ann_file=str(trees.hypersim / 'captions.json')))
    info = ds.get_data_info(0)
    assert info['depth_path'].endswith(
        'ai_001_010/images/scene_cam_00_geometry_hdf5/frame.0000.depth_meters.hdf5')
    assert info['captions'] == ['A rendered living room.']
    assert info['protocol'] == DepthProtocol(name='hypersim', split='test', min_depth=1e-3,
                                             max_depth=80.0, crop='eigen', units='m')
    # depth loaded after a resize still uses the original camera (depth_intrinsics)
    results = LoadDepth()(Resize((240, 320))(LoadRGBImage()(info)))
    np.testing.assert_array_equal(results['gt_valid'], trees.hypersim_valid)
    np.testing.assert_allclose(results['gt_depth'][trees.hypersim_valid],
                               trees.hypersim_depth[trees.hypersim_valid], rtol=1e-3)


def test_hypersim_default_camera_plane(tmp_path):
    fx, fy, cx, cy = hypersim_default_intrinsics(768, 1024)
    assert fx == pytest.approx(886.81, abs=5e-3) and fx == fy
    assert (cx, cy) == (511.5, 383.5)
    assert HyperSimDataset.INTRINSICS == [fx, fy, cx, cy]
    v, u = np.mgrid[0:768, 0:1024]
    dist = 3.0 * np.sqrt(1 + ((u - cx) / fx) ** 2 + ((v - cy) / fy) ** 2)  # plane Z = 3 m
    dist[0, 0] = np.nan
    path = tmp_path / 'frame.0000.depth_meters.hdf5'
    with h5py.File(path, 'w') as f:
        f.create_dataset('dataset', data=dist.astype(np.float32))
    depth, valid = read_depth(str(path), 'hdf5_hypersim_distance')
    assert not valid[0, 0] and valid.sum() == 768 * 1024 - 1
    np.testing.assert_allclose(depth[valid], 3.0, rtol=1e-6)
    corner = dist[767, 1023] / math.sqrt(1 + (511.5 / fx) ** 2 + (383.5 / fy) ** 2)
    assert corner == pytest.approx(3.0)


def test_hypersim_depth_path_rule():
    assert hypersim_depth_of('ai_001_001/images/scene_cam_02_final_preview/frame.0007.tonemap'
                             '.jpg') == ('ai_001_001/images/scene_cam_02_geometry_hdf5/'
                                         'frame.0007.depth_meters.hdf5')
    with pytest.raises(ValueError, match='not a HyperSim'):
        hypersim_depth_of('ai_001_001/images/frame.0007.png')
