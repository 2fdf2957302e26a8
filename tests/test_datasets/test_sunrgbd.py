import numpy as np
import pytest

from tr2m.datasets import SUNRGBDDataset
from tr2m.datasets.transforms import LoadDepth, LoadRGBImage
from tr2m.structures import DepthProtocol


def test_sunrgbd_release_layout_bitshift_depth(trees):
    ds = SUNRGBDDataset(data_root=str(trees.sun), split='test',
                        caption_source=dict(type='JSONCaptionSource',
                                            ann_file=str(trees.sun / 'captions.json')))
    info = ds.get_data_info(0)
    assert info['img_path'].endswith('SUNRGBD/kv1/NYUdata/NYU0001/image/NYU0001.jpg')
    assert info['depth_path'].endswith('SUNRGBD/kv1/NYUdata/NYU0001/depth/NYU0001.png')
    assert info['intrinsics'] == pytest.approx(trees.sun_k)
    assert info['captions'] == ['A room with a table.']
    assert info['protocol'] == DepthProtocol(name='sunrgbd', split='test', min_depth=0.0,
                                             max_depth=8.0, crop='eigen', units='m')
    frame = trees.sun_frame
    results = LoadDepth()(LoadRGBImage()(info))
    valid = results['gt_depth'][results['gt_valid']]
    assert results['gt_valid'].mean() == pytest.approx(frame['valid_frac'], abs=1e-3)
    assert valid.min() == pytest.approx(frame['depth_min_m'], abs=1e-3)
    assert np.median(valid) == pytest.approx(frame['depth_median_m'], abs=1e-3)
    assert valid.max() == pytest.approx(frame['depth_max_m'], abs=1e-3)


def test_sunrgbd_depth_dir_option(trees):
    with pytest.raises(FileNotFoundError, match='depth_bfx'):
        SUNRGBDDataset(data_root=str(trees.sun), depth_dir='depth_bfx')
