import numpy as np
import pytest

from tr2m.datasets import C3VDDataset
from tr2m.datasets.transforms import LoadDepth, LoadRGBImage
from tr2m.structures import DepthProtocol


def test_c3vd_tiff_in_millimetres_and_template_captions(trees):
    ds = C3VDDataset(data_root=str(trees.c3vd), split='test',
                     caption_source=dict(type='TemplateCaptionSource', preset='c3vd'))
    assert len(ds) == 1
    info = ds.get_data_info(0)
    assert info['img_path'].endswith('c3vd/sigmoid_t3_b/0000_color.png')
    assert info['depth_path'].endswith('c3vd/sigmoid_t3_b/0000_depth.tiff')
    assert info['captions'] == [
        'The image shows a surgical scene of sigmoid colon with texture type 3.']
    assert info['protocol'] == DepthProtocol(name='c3vd', split='test', min_depth=0.0,
                                             max_depth=100.0, crop=None, units='mm')
    assert info['scene_type'] == 'endoscopic' and info['intrinsics'] is None
    results = LoadDepth()(LoadRGBImage()(info))
    raw = trees.c3vd_raw[1]
    np.testing.assert_allclose(results['gt_depth'], raw * (100.0 / 65535.0), rtol=1e-6)
    np.testing.assert_array_equal(results['gt_valid'], raw > 0)
    assert 10 <= results['gt_depth'][results['gt_valid']].min()
    assert results['gt_depth'].max() <= 100.0


def test_c3vd_scan_without_split_file(trees):
    ds = C3VDDataset(data_root=str(trees.c3vd), split='all', sequences=['cecum_t1_a'],
                     caption_source=dict(type='TemplateCaptionSource', preset='c3vd'))
    assert [d['caption_key'] for d in ds.load_data_list()] == ['cecum_t1_a/0000_color.png']
    assert ds.get_data_info(0)['captions'] == [
        'The image shows a surgical scene of cecum with texture type 1.']
    all_seqs = C3VDDataset(data_root=str(trees.c3vd), split='all')
    assert len(all_seqs) == 2
    with pytest.raises(FileNotFoundError, match='no \\*_color.png'):
        C3VDDataset(data_root=str(trees.c3vd), split='all', sequences=['trans_t1_a'])
