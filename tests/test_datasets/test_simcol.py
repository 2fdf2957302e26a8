import numpy as np

from tr2m.datasets import SimColDataset
from tr2m.datasets.transforms import LoadDepth, LoadRGBImage
from tr2m.structures import DepthProtocol


def test_simcol_sequences_depth_mm_and_template(trees):
    ds = SimColDataset(data_root=str(trees.simcol), split='test',
                       caption_source=dict(type='TemplateCaptionSource', preset='simcol'))
    assert len(ds) == 2  # the header line of misc/test_file.txt is ignored
    info = ds.get_data_info(1)
    assert info['img_path'].endswith('SyntheticColon_II/Frames_B5/FrameBuffer_0001.png')
    assert info['depth_path'].endswith('SyntheticColon_II/Frames_B5/Depth_0001.png')
    assert info['intrinsics'] == [227.60416, 227.60416, 237.5, 237.5]
    assert info['captions'] == [
        'The image shows a surgical scene of colon with texture type 2.']
    assert info['protocol'] == DepthProtocol(name='simcol', split='test', min_depth=0.0,
                                             max_depth=200.0, crop=None, units='mm')
    results = LoadDepth()(LoadRGBImage()(info))
    raw = trees.simcol_raw[1]
    assert results['img'].shape == (475, 475, 3)
    np.testing.assert_allclose(results['gt_depth'], raw * (200.0 / 65535.0), rtol=1e-6)
    assert results['gt_depth'].max() <= 200.0
