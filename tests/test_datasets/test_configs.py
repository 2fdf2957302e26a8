"""Every dataset base config parses, and its datasets build on the temporary trees."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tr2m.engine.runner import DepthRunner as Runner
from tr2m.registry import DATASETS

from ._trees import rsa_captions

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / 'datasets'
ROOTS = dict(nyu='nyu', kitti='kitti', void='void', c3vd='c3vd', sunrgbd='sun', ibims='ibims',
             hypersim='hypersim', diode_outdoor='diode', simcol='simcol')


def _point_at_trees(dataset_cfg, trees):
    """Rewrite data roots and caption paths of a dataset config to the temporary trees."""
    if dataset_cfg['type'] == 'ConcatDataset':
        for sub in dataset_cfg['datasets']:
            _point_at_trees(sub, trees)
        return
    name = {'NYUv2Dataset': 'nyu', 'KITTIDataset': 'kitti', 'VOIDDataset': 'void',
            'C3VDDataset': 'c3vd', 'SUNRGBDDataset': 'sun', 'IBims1Dataset': 'ibims',
            'HyperSimDataset': 'hypersim', 'DIODEDataset': 'diode',
            'SimColDataset': 'simcol'}[dataset_cfg['type']]
    root = getattr(trees, name)
    dataset_cfg['data_root'] = str(root)
    source = dataset_cfg.get('caption_source') or {}
    if source.get('type') == 'RSACaptionSource':
        source['root'] = str(trees.text_root)
    elif source.get('type') == 'JSONCaptionSource':
        source['ann_file'] = str(root / 'captions.json')
    if dataset_cfg['type'] == 'HyperSimDataset':
        dataset_cfg['intrinsics'] = [518.8579, 519.46961, 325.58245, 253.73617]


@pytest.mark.parametrize('name', sorted(ROOTS))
def test_dataset_config_builds_test_set(name, trees, rsa_text):
    cfg = Config.fromfile(str(CONFIG_DIR / f'{name}.py'))
    assert cfg.test_evaluator == dict(type='DepthMetric')
    assert cfg.val_evaluator == dict(type='DepthMetric')
    init_default_scope('tr2m')
    ds_cfg = cfg.test_dataloader.dataset.to_dict()
    _point_at_trees(ds_cfg, trees)
    ds = DATASETS.build(ds_cfg)
    out = ds[0]
    sample = out['data_samples']
    h, w = out['inputs'].shape[-2:]
    assert h % 14 == 0 and w % 14 == 0
    assert sample.metainfo['protocol'].name == ds.get_data_info(0)['dataset_name']
    assert sample.metainfo['caption_index'] == 0
    gt_hw = tuple(sample.gt_depth.shape)
    expected_gt = (352, 1216) if name == 'kitti' else tuple(sample.metainfo['ori_shape'])
    assert gt_hw == expected_gt  # evaluation GT stays at full (KB-cropped) resolution
    info = ds.get_data_info(0)
    if name in ('nyu', 'kitti', 'void'):
        assert sample.caption == rsa_captions(rsa_text, name, info['caption_key'])[0]
    else:
        assert sample.caption == info['captions'][0]
    if 'train_dataloader' in cfg:
        pipeline = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
        assert pipeline[-2:] == ['LoadCaption', 'PackDepthInputs']
        assert cfg.train_dataloader.dataset.pipeline[-2]['mode'] == 'random'
        assert any(t.get('size_divisor') == 14 for t in cfg.train_dataloader.dataset.pipeline)


def test_mixed_config_trains_with_same_dataset_batches(trees):
    cfg = Config.fromfile(str(CONFIG_DIR / 'mixed_nyu_kitti_void_c3vd.py'))
    init_default_scope('tr2m')
    loader_cfg = cfg.train_dataloader.to_dict()
    _point_at_trees(loader_cfg['dataset'], trees)
    loader_cfg.update(num_workers=0, persistent_workers=False, batch_size=2)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    indices, shapes = [], {}
    for batch in loader:
        names = {s.metainfo['dataset_name'] for s in batch['data_samples']}
        assert len(names) == 1
        shapes[names.pop()] = tuple(torch.stack(batch['inputs']).shape[-2:])
        indices += [s.metainfo['sample_idx'] for s in batch['data_samples']]
    assert shapes == {'nyu': (476, 644), 'kitti': (350, 1218), 'void': (476, 644),
                      'c3vd': (518, 644)}
    assert len(indices) == len(loader.dataset) == 9
    val_cfg = cfg.val_dataloader.dataset.to_dict()
    _point_at_trees(val_cfg, trees)
    val = DATASETS.build(val_cfg)
    assert [val.get_data_info(i)['dataset_name'] for i in range(len(val))] == (
        ['nyu'] * 3 + ['kitti'] * 3 + ['void'] * 3 + ['c3vd'])


def test_zero_shot_config_builds(trees):
    cfg = Config.fromfile(str(CONFIG_DIR / 'zero_shot.py'))
    init_default_scope('tr2m')
    ds_cfg = cfg.test_dataloader.dataset.to_dict()
    _point_at_trees(ds_cfg, trees)
    ds = DATASETS.build(ds_cfg)
    names = [ds.get_data_info(i)['dataset_name'] for i in range(len(ds))]
    assert names == ['sunrgbd', 'ibims1', 'hypersim', 'diode_outdoor', 'simcol', 'simcol']
    units = {ds.get_data_info(i)['protocol'].units for i in range(len(ds))}
    assert units == {'m', 'mm'}
    out = ds[4]
    assert out['data_samples'].metainfo['protocol'].units == 'mm'
    assert tuple(out['inputs'].shape[-2:]) == (476, 476)
