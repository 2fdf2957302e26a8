import numpy as np
import pytest

from tr2m.datasets import DIODEDataset
from tr2m.datasets.transforms import LoadDepth, LoadRGBImage
from tr2m.structures import DepthProtocol


def test_diode_outdoor_npy_and_mask(trees):
    ds = DIODEDataset(data_root=str(trees.diode), scene_type='outdoor',
                      caption_source=dict(type='JSONCaptionSource',
                                          ann_file=str(trees.diode / 'captions.json')))
    assert len(ds) == 1
    info = ds.get_data_info(0)
    assert info['depth_path'].endswith('00022_00193_outdoor_000_010_depth.npy')
    assert info['intrinsics'] == [886.81, 927.06, 512.0, 384.0]
    assert info['captions'] == ['A street with parked cars.']
    assert info['protocol'] == DepthProtocol(name='diode_outdoor', split='val', min_depth=1e-3,
                                             max_depth=80.0, crop='garg', units='m')
    assert info['scene_type'] == 'outdoor'
    results = LoadDepth()(LoadRGBImage()(info))
    np.testing.assert_array_equal(results['gt_valid'], trees.diode_valid)
    np.testing.assert_allclose(results['gt_depth'], trees.diode_depth, rtol=1e-6)


def test_diode_indoor_protocol_and_errors(trees):
    with pytest.raises(FileNotFoundError, match='val/indoors'):
        DIODEDataset(data_root=str(trees.diode), scene_type='indoor')
    with pytest.raises(ValueError, match='scene_type'):
        DIODEDataset(data_root=str(trees.diode), scene_type='underwater')
    assert DIODEDataset.PROTOCOLS['indoor'].crop == 'eigen'
