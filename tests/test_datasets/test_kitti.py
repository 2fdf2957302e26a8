import numpy as np
import pytest

from tr2m.datasets import KITTIDataset
from tr2m.datasets.kitti import KITTI_RECT_CAMERAS, kitti_date, read_kitti_calib
from tr2m.datasets.transforms import KBCrop, LoadDepth, LoadRGBImage
from tr2m.structures import DepthProtocol

from ._trees import rsa_captions


def _rsa(trees, split='test'):
    return dict(type='RSACaptionSource', root=str(trees.text_root), dataset='kitti', split=split)


def test_kitti_eigen_test_skips_none_and_matches_manifest(trees, rsa_text):
    ds = KITTIDataset(data_root=str(trees.kitti), split='test', caption_source=_rsa(trees))
    assert len(ds) == 3  # the line whose depth is "None" is skipped
    for i, (rgb, depth, focal) in enumerate(trees.kitti_test):
        info = ds.get_data_info(i)
        assert info['img_path'].endswith('kitti/raw/' + rgb)
        assert info['depth_path'].endswith('kitti/data_depth_annotated/' + depth)
        assert info['captions'] == rsa_captions(rsa_text, 'kitti', rgb)
        # 2011_09_28: the frames' own calibration (manifest K)
        assert info['intrinsics'] == pytest.approx(trees.kitti_frames[i]['K'])
        assert info['intrinsics'][0] == float(focal)
        assert info['protocol'] == DepthProtocol(name='kitti', split='test', min_depth=1e-3,
                                                 max_depth=80.0, crop='garg', units='m')
        frame = trees.kitti_frames[i]
        results = LoadDepth()(LoadRGBImage()(info))
        valid = results['gt_depth'][results['gt_valid']]
        assert results['gt_valid'].mean() == pytest.approx(frame['valid_frac'], abs=1e-3)
        assert valid.min() == pytest.approx(frame['depth_min_m'], abs=2e-3)
        assert np.median(valid) == pytest.approx(frame['depth_median_m'], abs=2e-3)
        assert valid.max() == pytest.approx(frame['depth_max_m'], abs=2e-3)


def test_kitti_kb_crop_and_intrinsics(trees):
    ds = KITTIDataset(data_root=str(trees.kitti), caption_source=_rsa(trees))
    fx, fy, cx, cy = ds.get_data_info(0)['intrinsics']
    results = KBCrop()(LoadDepth()(LoadRGBImage()(ds.get_data_info(0))))
    assert results['img'].shape == (352, 1216, 3)
    assert results['gt_depth'].shape == (352, 1216)
    # bottom-centre crop of 375 x 1242: 23 rows off the top, 13 columns off the left
    assert results['intrinsics'] == pytest.approx([fx, fy, cx - 13, cy - 23])


def test_kitti_train_list_without_date_folder(trees, rsa_text):
    ds = KITTIDataset(data_root=str(trees.kitti), split='train',
                      caption_source=_rsa(trees, 'train'))
    assert len(ds) == 3
    info = ds.get_data_info(0)
    rgb = trees.kitti_test[0][0]
    assert info['img_path'].endswith('kitti/raw/' + rgb)
    assert info['caption_key'] == rgb
    assert info['captions'] == rsa_captions(rsa_text, 'kitti', rgb)


def test_kitti_calib_file_wins_over_table(trees, tmp_path):
    calib = tmp_path / 'calib_cam_to_cam.txt'
    calib.write_text('P_rect_02: 7.000000e+02 0.000000e+00 6.000000e+02 4.4e+01 '
                     '0.000000e+00 7.100000e+02 1.800000e+02 2.1e-01 0 0 1 2.7e-03\n')
    assert read_kitti_calib(str(calib)) == [700.0, 710.0, 600.0, 180.0]
    assert kitti_date('2011_09_26_drive_0002_sync/proj_depth/x.png') == '2011_09_26'
    assert KITTI_RECT_CAMERAS['2011_09_26'] == [721.5377, 609.5593, 172.854]
