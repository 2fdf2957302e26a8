"""``check_datasets``: every unprepared dataset of a config in one error, with its command."""
import os

import pytest

from tr2m.apis.data_check import check_datasets, converters_path, find_unprepared
from tr2m.utils import register_all_modules
from tr2m.utils.config import load_config
from tr2m.utils.errors import DatasetNotPreparedError

register_all_modules()


@pytest.fixture
def paper_cfg():
    return load_config('configs/tr2m_da_s.py')


def test_nothing_prepared_lists_all_four_and_the_captions(paper_cfg, tmp_path, monkeypatch):
    repo = os.getcwd()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetNotPreparedError) as err:
        check_datasets(paper_cfg, ('train', 'val'), config_name='configs/tr2m_da_s.py')
    lines = str(err.value).splitlines()
    assert lines[0] == ('configs/tr2m_da_s.py reads 4 datasets and 1 caption set that are not '
                        'prepared (nothing was loaded or downloaded):')
    tools = os.path.join(repo, 'tools', 'dataset_converters')  # absolute: cwd is elsewhere
    assert converters_path() == tools
    assert lines[1] == (f'  RSA captions (train, val): data/rsa_text missing -> python {tools}/'
                        'prepare_rsa_text.py --out data/rsa_text')
    assert lines[2] == (f'  NYUv2 (train, val): data/nyu missing -> python {tools}/prepare_nyu.py'
                        ' --out data/nyu --splits-from data/rsa_text/data_splits')
    assert [ln.split()[0] for ln in lines[3:6]] == ['KITTI', 'VOID', 'C3VD']
    assert lines[-1] == (f'Paths are relative to {tmp_path}; layouts and downloads: {tools}/'
                         'README.md')


def test_partly_prepared_names_what_is_left(paper_cfg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for split in ('train', 'test'):  # NYU: split lists and test images, no training images
        (tmp_path / 'data/rsa_text/text/text_all/nyu' / split).mkdir(parents=True)
    (tmp_path / 'data/nyu/splits').mkdir(parents=True)
    for name in ('nyudepthv2_train_files_with_gt.txt', 'nyudepthv2_test_files_with_gt.txt'):
        (tmp_path / 'data/nyu/splits' / name).write_text('')
    (tmp_path / 'data/nyu/official_splits/test').mkdir(parents=True)
    problems = {p['name']: p for p in find_unprepared(paper_cfg, ('train', 'val'))}
    assert problems['NYUv2']['missing'] == ['data/nyu/sync']
    assert problems['NYUv2']['phases'] == ['train']  # the test part is complete
    assert sorted(problems['RSA captions']['missing']) == [
        f'data/rsa_text/text/text_all/{d}/{s}' for d in ('kitti', 'void')
        for s in ('test', 'train')]
    # test.py checks the test sets only
    assert {p['name'] for p in find_unprepared(paper_cfg, ('test',))} == {
        'RSA captions', 'KITTI', 'VOID', 'C3VD'}


def test_demo_and_zero_shot_sets(tmp_path, monkeypatch, synthetic_root):
    quick = load_config('configs/quickstart/tr2m_synthetic.py')
    zero = load_config('configs/_base_/datasets/zero_shot.py')
    monkeypatch.chdir(tmp_path)
    problems = find_unprepared(quick, ('train', 'val', 'test'))
    assert [p['name'] for p in problems] == ['demo set']
    assert problems[0]['command'].endswith('make_synthetic_rgbd.py data/synthetic')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        quick[loader].dataset.data_root = str(synthetic_root)
    check_datasets(quick)  # prepared: no error
    names = [p['name'] for p in find_unprepared(zero, ('test',))]
    assert names == ['SUN RGB-D', 'SUN RGB-D captions', 'iBims-1', 'iBims-1 captions',
                     'HyperSim', 'HyperSim captions', 'DIODE', 'DIODE captions', 'SimCol3D']
    with pytest.raises(ValueError, match='unknown phase'):
        find_unprepared(zero, ('tests',))
