import numpy as np

from tr2m.datasets import IBims1Dataset
from tr2m.datasets.transforms import LoadDepth, LoadRGBImage
from tr2m.structures import DepthProtocol

from ._trees import NYU_K


def test_ibims_masks_scale_and_calib(trees):
    ds = IBims1Dataset(data_root=str(trees.ibims),
                       caption_source=dict(type='JSONCaptionSource',
                                           ann_file=str(trees.ibims / 'captions.json')))
    info = ds.get_data_info(0)
    assert info['img_path'].endswith('ibims1_core_raw/rgb/corridor_01.png')
    assert info['depth_format'] == 'png_uint16_ibims'
    assert info['intrinsics'] == NYU_K
    assert info['captions'] == ['A long corridor.', 'A hallway with doors.']
    assert info['protocol'] == DepthProtocol(name='ibims1', split='test', min_depth=0.0,
                                             max_depth=10.0, crop='eigen', units='m')
    results = LoadDepth()(LoadRGBImage()(info))
    np.testing.assert_array_equal(results['gt_valid'], trees.ibims_valid)
    expected = np.where(trees.ibims_valid, trees.ibims_raw * 50.0 / 65535.0, 0)
    np.testing.assert_allclose(results['gt_depth'], expected, rtol=1e-6)
    assert not results['gt_valid'][100:200, 300:400].any()  # transparent region masked
