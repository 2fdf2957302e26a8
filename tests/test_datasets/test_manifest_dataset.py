"""DepthManifestDataset and the loading transforms on the 59 real frames of rgbd_real."""
import json
import shutil

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope

from tr2m.datasets import DepthManifestDataset
from tr2m.structures import DepthProtocol

PIPELINE = [dict(type='LoadRGBImage'), dict(type='LoadDepth'),
            dict(type='LoadCaption', fallback='a scene'), dict(type='PackDepthInputs')]


def build(root, **kwargs):
    with DefaultScope.overwrite_default_scope('tr2m'):
        return DepthManifestDataset(ann_file='manifest.json', data_root=str(root), **kwargs)


def test_every_depth_format_matches_the_manifest_statistics(rgbd_real, rgbd_manifest):
    ds = build(rgbd_real, pipeline=PIPELINE)
    assert len(ds) == len(rgbd_manifest) == 59
    formats = set()
    for i, frame in enumerate(rgbd_manifest):
        sample = ds[i]['data_samples']
        depth = sample.gt_depth.data[0].numpy()
        valid = sample.gt_valid.data[0].numpy()
        vals = depth[valid]
        assert list(depth.shape) == frame['depth_hw']
        assert valid.mean() == pytest.approx(frame['valid_frac'], abs=1e-3)
        assert vals.min() == pytest.approx(frame['depth_min_m'], abs=1e-3)
        assert np.median(vals) == pytest.approx(frame['depth_median_m'], abs=1e-3)
        assert vals.max() == pytest.approx(frame['depth_max_m'], abs=1e-3)
        assert (depth[~valid] == 0).all()
        assert sample.dataset_name == frame['dataset']
        assert sample.intrinsics == (frame['K'] and list(frame['K']))
        formats.add(frame['depth_format'])
    assert formats == {'png_uint16', 'png_uint16_65535_invalid', 'png_uint16_sunrgbd_bitshift',
                       'pgm_le_uint16_kinect_raw_disparity'}


def test_dataset_filter_and_protocols(rgbd_real):
    ds = build(rgbd_real, datasets=['kitti'], protocol=dict(max_depth=80.0, crop='garg'),
               pipeline=[])
    assert len(ds) == 3
    info = ds.get_data_info(0)
    assert info['protocol'] == DepthProtocol(max_depth=80.0, crop='garg')
    with pytest.raises(ValueError, match='no frames selected'):
        build(rgbd_real, datasets=['nope'], pipeline=[])
    with pytest.raises(KeyError, match='croop'):
        build(rgbd_real, protocol=dict(croop='eigen'), pipeline=[])


def _copy_frame(rgbd_real, frame, tmp_path):
    for key in ('rgb', 'depth'):
        dst = tmp_path / frame[key]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(rgbd_real / frame[key], dst)
    (tmp_path / 'manifest.json').write_text(json.dumps(dict(frames=[frame])))


def test_bad_input_gives_errors_that_name_the_file(rgbd_real, rgbd_manifest, tmp_path):
    frame = dict(rgbd_manifest[0])
    _copy_frame(rgbd_real, frame, tmp_path)
    ds = build(tmp_path, pipeline=PIPELINE)
    ds[0]  # loads
    # a depth map of the wrong size
    depth = cv2.imread(str(tmp_path / frame['depth']), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(tmp_path / frame['depth']), depth[:100])
    with pytest.raises(ValueError, match=frame['depth'].split('/')[-1]):
        ds[0]
    # a corrupt image
    (tmp_path / frame['rgb']).write_bytes(b'not an image')
    with pytest.raises(OSError, match=frame['rgb'].split('/')[-1]):
        ds[0]
    # a missing image
    (tmp_path / frame['rgb']).unlink()
    with pytest.raises(FileNotFoundError, match=frame['rgb'].split('/')[-1]):
        ds[0]
    # an unknown depth format
    frame['depth_format'] = 'png_uint12'
    _copy_frame(rgbd_real, frame, tmp_path)
    with pytest.raises(KeyError, match='png_uint12'):
        build(tmp_path, pipeline=PIPELINE)[0]


def test_caption_required_unless_fallback(rgbd_real, rgbd_manifest, tmp_path):
    frame = dict(rgbd_manifest[0], captions=['A kitchen.', '', 'A room with a table.'])
    _copy_frame(rgbd_real, frame, tmp_path)
    pipe = [dict(type='LoadRGBImage'), dict(type='LoadCaption', mode='index', index=1),
            dict(type='PackDepthInputs')]
    # empty captions are dropped, so index 1 is the third caption
    assert build(tmp_path, pipeline=pipe)[0]['data_samples'].caption == 'A room with a table.'
    frame['captions'] = ['  ']
    _copy_frame(rgbd_real, frame, tmp_path)
    with pytest.raises(ValueError, match='no \\(non-empty\\) caption for image'):
        build(tmp_path, pipeline=pipe)[0]
    pipe[1] = dict(type='LoadCaption', fallback='an indoor scene')
    assert build(tmp_path, pipeline=pipe)[0]['data_samples'].caption == 'an indoor scene'
