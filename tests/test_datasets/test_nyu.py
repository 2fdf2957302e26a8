import numpy as np
import pytest

from tr2m.datasets import NYUv2Dataset, read_depth
from tr2m.datasets.transforms import LoadCaption, LoadDepth, LoadRGBImage, PackDepthInputs
from tr2m.structures import DepthProtocol

from ._trees import rsa_captions


def _rsa(trees, split='test'):
    return dict(type='RSACaptionSource', root=str(trees.text_root), dataset='nyu', split=split)


def test_nyu_test_split_reads_depth_captions_intrinsics(trees, rgbd_real, rsa_text):
    ds = NYUv2Dataset(data_root=str(trees.nyu), split='test', caption_source=_rsa(trees))
    assert len(ds) == 3
    for i, (rgb, depth, focal) in enumerate(trees.nyu_test):
        info = ds.get_data_info(i)
        assert info['img_path'].endswith('official_splits/test/' + rgb)
        assert info['depth_path'].endswith('official_splits/test/' + depth)
        assert info['captions'] == rsa_captions(rsa_text, 'nyu', rgb)
        assert len(info['captions']) == 15
        assert info['intrinsics'] == [float(focal), 519.46961, 325.58245, 253.73617]
        assert info['dataset_name'] == 'nyu' and info['scene_type'] == 'indoor'
        assert info['protocol'] == DepthProtocol(name='nyu', split='test', min_depth=1e-3,
                                                 max_depth=10.0, crop='eigen', units='m')
    frame = trees.nyu_frames[0]
    results = LoadDepth()(LoadRGBImage()(ds.get_data_info(0)))
    valid = results['gt_depth'][results['gt_valid']]
    assert results['gt_depth'].shape == (480, 640)
    assert valid.min() == pytest.approx(frame['depth_min_m'], abs=1e-3)
    assert np.median(valid) == pytest.approx(frame['depth_median_m'], abs=2e-3)
    assert valid.max() == pytest.approx(frame['depth_max_m'], abs=1e-3)
    ref, _ = read_depth(str(rgbd_real / frame['depth']), 'png_uint16', 1000.0)
    np.testing.assert_array_equal(results['gt_depth'], ref)


def test_nyu_rsa_style_protocol_without_crop(trees):
    ds = NYUv2Dataset(data_root=str(trees.nyu), caption_source=_rsa(trees),
                      protocol=dict(crop=None))
    assert ds.get_data_info(0)['protocol'].crop is None
    # the dataset's metainfo (saved in checkpoints) holds the protocol as plain data
    assert ds.metainfo['protocol']['crop'] is None and ds.metainfo['dataset_name'] == 'nyu'


def test_nyu_train_split_bts_leading_slash(trees, rsa_text):
    ds = NYUv2Dataset(data_root=str(trees.nyu), split='train',
                      caption_source=_rsa(trees, 'train'),
                      pipeline=[dict(type='LoadRGBImage'), dict(type='LoadDepth'),
                                dict(type='Resize', scale=(480, 640), size_divisor=14),
                                dict(type='LoadCaption', mode='random'),
                                dict(type='PackDepthInputs')])
    assert len(ds) == 2
    info = ds.get_data_info(0)
    assert info['img_path'].endswith('nyu/sync/kitchen_0028b/rgb_00045.jpg')
    assert info['caption_key'] == 'kitchen_0028b/rgb_00045.jpg'
    assert info['protocol'].split == 'train'
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 476, 644)
    assert tuple(out['data_samples'].gt_depth.shape) == (476, 644)
    assert out['data_samples'].caption in info['captions']


def test_nyu_unknown_split_and_missing_split_file(trees, tmp_path):
    with pytest.raises(KeyError, match='unknown split'):
        NYUv2Dataset(data_root=str(trees.nyu), split='val')
    with pytest.raises(FileNotFoundError, match='split file not found'):
        NYUv2Dataset(data_root=str(tmp_path), split='test')


def test_nyu_test_pipeline_keeps_full_size_gt(trees, rsa_text):
    ds = NYUv2Dataset(data_root=str(trees.nyu), caption_source=_rsa(trees), pipeline=[
        LoadRGBImage(), LoadDepth(),
        dict(type='Resize', scale=(480, 640), keep_ratio=True, size_divisor=14,
             resize_depth=False),
        LoadCaption(mode='index', index=3), PackDepthInputs()])
    out = ds[1]
    sample = out['data_samples']
    assert tuple(out['inputs'].shape) == (3, 476, 644)
    assert tuple(sample.gt_depth.shape) == (480, 640)
    assert sample.caption == rsa_captions(rsa_text, 'nyu', trees.nyu_test[1][0])[3]
    assert sample.metainfo['caption_index'] == 3
    assert sample.metainfo['protocol'].crop == 'eigen'
    assert sample.metainfo['run_notes'].caption_index == 3  # a run note, not the protocol
    assert sample.metainfo['protocol'] == ds.get_data_info(1)['protocol']  # the dataset's
