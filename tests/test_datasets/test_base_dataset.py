import numpy as np
import pytest

from tr2m.datasets import NYUv2Dataset, check_protocol
from tr2m.datasets.base_dataset import BaseDepthDataset, read_matrix_intrinsics, read_split_file
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol

NAMES = ('NYUv2Dataset', 'KITTIDataset', 'VOIDDataset', 'C3VDDataset', 'SUNRGBDDataset',
         'IBims1Dataset', 'HyperSimDataset', 'DIODEDataset', 'SimColDataset',
         'DepthFolderDataset')


@pytest.mark.parametrize('name', NAMES)
def test_registered_with_a_valid_protocol(name):
    cls = DATASETS.get(name)
    assert cls is not None and cls.__name__ == name and issubclass(cls, BaseDepthDataset)
    assert check_protocol(cls.PROTOCOL, name) is cls.PROTOCOL  # a DepthProtocol
    assert cls.PROTOCOL.units == ('mm' if name in ('C3VDDataset', 'SimColDataset') else 'm')


def test_protocol_validation():
    ok = dict(name='x', min_depth=0.0, max_depth=None, crop=None, units='m')
    assert check_protocol(ok) == DepthProtocol(**ok)
    with pytest.raises(KeyError, match='max_dept'):
        check_protocol({**ok, 'max_dept': 3})
    with pytest.raises(ValueError, match='crop'):
        check_protocol({**ok, 'crop': 'kb'})
    with pytest.raises(ValueError, match='units'):
        check_protocol({**ok, 'units': 'cm'})
    with pytest.raises(ValueError, match='min_depth'):
        check_protocol({**ok, 'min_depth': 5.0, 'max_depth': 1.0})


def test_overrides_rel_depth_and_img_ext(trees):
    ds = NYUv2Dataset(data_root=str(trees.nyu), intrinsics=[1, 2, 3, 4], img_ext='.png',
                      rel_depth_root='rel_cache', dataset_name='nyu_custom',
                      depth_scale=500.0, protocol=dict(max_depth=8.0), lazy_init=True,
                      check_files=False)  # paths that do not exist: only their composition
    ds.full_init()
    info = ds.get_data_info(0)
    rgb = trees.nyu_test[0][0]
    assert info['img_path'].endswith(rgb[:-4] + '.png')
    assert info['caption_key'] == rgb
    assert info['rel_depth_path'] == str(trees.nyu / 'rel_cache' / (rgb[:-4] + '.npy'))
    assert info['intrinsics'] == [1.0, 2.0, 3.0, 4.0] == info['depth_intrinsics']
    assert info['dataset_name'] == 'nyu_custom' and info['protocol'].name == 'nyu_custom'
    assert info['protocol'].max_depth == 8.0 and info['depth_scale'] == 500.0
    assert 'NYUv2Dataset' in repr(ds)
    with pytest.raises(KeyError, match='unknown depth_format'):
        NYUv2Dataset(data_root=str(trees.nyu), depth_format='png_uint12')


def test_split_and_matrix_readers(tmp_path):
    path = tmp_path / 'list.txt'
    path.write_text('# comment\n\na b 1.5\nc\n')
    assert read_split_file(str(path)) == [['a', 'b', '1.5'], ['c']]
    with pytest.raises(ValueError, match='list.txt:4'):
        read_split_file(str(path), min_fields=2)
    k = tmp_path / 'K.txt'
    np.savetxt(k, np.array([[5.1e2, 0, 3.2e2], [0, 5.2e2, 2.4e2], [0, 0, 1]]))
    assert read_matrix_intrinsics(str(k)) == [510.0, 520.0, 320.0, 240.0]
    k.write_text('1, 2, 3, 4')
    assert read_matrix_intrinsics(str(k)) == [1.0, 2.0, 3.0, 4.0]
