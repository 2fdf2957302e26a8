import json
import os

import numpy as np
import pytest

from tr2m.datasets import DepthFolderDataset
from tr2m.datasets.transforms import LoadDepth, LoadRGBImage
from tr2m.structures import DepthProtocol


def _folder(tmp_path, rgbd_real, frames):
    for i, frame in enumerate(frames):
        sub = 'seq_a' if i < 2 else 'seq_b'
        (tmp_path / 'rgb' / sub).mkdir(parents=True, exist_ok=True)
        (tmp_path / 'depth' / sub).mkdir(parents=True, exist_ok=True)
        os.symlink(rgbd_real / frame['rgb'], tmp_path / 'rgb' / sub / f'{i:04d}.jpg')
        os.symlink(rgbd_real / frame['depth'], tmp_path / 'depth' / sub / f'{i:04d}.png')


def test_folder_dataset_captions_and_intrinsics(tmp_path, rgbd_real, rgbd_manifest):
    frames = [f for f in rgbd_manifest if f['dataset'] == 'nyu_v2']
    _folder(tmp_path, rgbd_real, frames)
    (tmp_path / 'captions.json').write_text(json.dumps(
        {f"seq_{'a' if i < 2 else 'b'}/{i:04d}.jpg": [f'caption {i}'] for i in range(3)}))
    (tmp_path / 'intrinsics.json').write_text(json.dumps(frames[0]['K']))
    ds = DepthFolderDataset(data_root=str(tmp_path), depth_scale=1000.0,
                            protocol=dict(name='my_robot', max_depth=10.0))
    assert len(ds) == 3
    info = ds.get_data_info(2)
    assert info['img_path'].endswith('rgb/seq_b/0002.jpg')
    assert info['captions'] == ['caption 2']
    assert info['intrinsics'] == frames[0]['K']
    assert info['protocol'] == DepthProtocol(name='my_robot', split='custom', min_depth=1e-3,
                                             max_depth=10.0, crop=None, units='m')
    results = LoadDepth()(LoadRGBImage()(info))
    valid = results['gt_depth'][results['gt_valid']]
    assert np.median(valid) == pytest.approx(frames[2]['depth_median_m'], abs=2e-3)


def test_folder_dataset_missing_depth(tmp_path, rgbd_real, rgbd_manifest):
    frames = [f for f in rgbd_manifest if f['dataset'] == 'nyu_v2']
    _folder(tmp_path, rgbd_real, frames)
    os.remove(tmp_path / 'depth' / 'seq_a' / '0001.png')
    with pytest.raises(FileNotFoundError, match='seq_a/0001.jpg'):
        DepthFolderDataset(data_root=str(tmp_path))
    ds = DepthFolderDataset(data_root=str(tmp_path), allow_missing_depth=True,
                            caption_source=dict(type='FixedCaptionSource', captions='A room.'))
    assert len(ds) == 2 and ds.get_data_info(0)['captions'] == ['A room.']
