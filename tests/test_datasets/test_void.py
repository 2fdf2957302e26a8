import numpy as np
import pytest

from tr2m.datasets import VOIDDataset
from tr2m.datasets.transforms import LoadDepth, LoadRGBImage
from tr2m.structures import DepthProtocol

from ._trees import SEVEN_SCENES_K, rsa_captions


def test_void_test_lists(trees, rsa_text):
    ds = VOIDDataset(data_root=str(trees.void), split='test',
                     caption_source=dict(type='RSACaptionSource', root=str(trees.text_root),
                                         dataset='void', split='test'))
    assert len(ds) == 3
    for i, img in enumerate(trees.void_test):
        info = ds.get_data_info(i)
        assert info['img_path'].endswith('void/' + img)
        assert info['depth_path'].endswith(img.replace('/image/', '/ground_truth/'))
        assert info['intrinsics'] == SEVEN_SCENES_K  # from the sequence's K.txt
        assert info['captions'] == rsa_captions(rsa_text, 'void', img)
        assert info['protocol'] == DepthProtocol(name='void', split='test', min_depth=0.2,
                                                 max_depth=5.0, crop=None, units='m')
        results = LoadDepth()(LoadRGBImage()(info))
        ref = trees.void_depth[i]
        np.testing.assert_allclose(results['gt_depth'], ref, atol=0.5 / 256 + 1e-6)
        assert results['gt_valid'].sum() == pytest.approx((ref > 0).sum(), abs=0)


def test_void_derives_paths_without_sibling_lists(trees, tmp_path):
    (tmp_path / 'void_1500').mkdir()
    (tmp_path / 'void_1500' / 'test_image.txt').write_text(
        (trees.void / 'void_1500/test_image.txt').read_text())
    (tmp_path / 'void_1500' / 'data').symlink_to(trees.void / 'void_1500' / 'data')
    ds = VOIDDataset(data_root=str(tmp_path), caption_fallback='An indoor scene.')
    info = ds.get_data_info(0)
    assert info['depth_path'].endswith(
        trees.void_test[0].replace('/image/', '/ground_truth/'))
    assert info['intrinsics'] == SEVEN_SCENES_K
    assert info['captions'] == []  # no caption source: nothing to fall back from
