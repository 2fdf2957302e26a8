"""``CaptionSwapDataset`` and ``tools/analysis_tools/caption_robustness.py`` on the demo set."""
import json

import numpy as np
import pytest
from mmengine.config import Config

from tr2m.datasets import CaptionSwapDataset, DepthManifestDataset, swap_partners
from tr2m.registry import DATASETS
from tr2m.structures import RunNotes
from tr2m.utils import register_all_modules

register_all_modules()
METRICS = ('abs_rel', 'sq_rel', 'rmse', 'rmse_log', 'log10', 'silog', 'd1', 'd2', 'd3')


@pytest.fixture(scope='module')
def test_set(tiny_config):
    cfg = Config.fromfile(str(tiny_config))
    return DATASETS.build(cfg.test_dataloader.dataset)


def test_swap_within_takes_another_image_of_the_same_dataset(test_set):
    swapped = CaptionSwapDataset(test_set, mode='within', seed=0)
    assert len(swapped) == len(test_set) == 6
    partners = [swapped.partner(i) for i in range(len(swapped))]
    assert sorted(partners) == list(range(6))  # a permutation: every caption list used once
    for i, p in enumerate(partners):
        mine, donor = test_set.get_data_info(i), test_set.get_data_info(p)
        info = swapped.get_data_info(i)
        assert p != i and donor['dataset_name'] == mine['dataset_name']
        assert info['captions'] == donor['captions'] != mine['captions']
        assert info['img_path'] == mine['img_path'] and info['caption_from'] == donor['img_path']
        assert info['run_notes'].caption_swap == 'within'  # a run note, not the protocol
        assert info['protocol'] == mine['protocol']
        sample = swapped[i]['data_samples']  # through the pipeline (LoadCaption index 0)
        assert sample.caption == donor['captions'][0]
        assert sample.img_path == mine['img_path']
        assert sample.run_notes == RunNotes(caption_index=0, caption_swap='within',
                                            caption_swap_seed=0)
    assert CaptionSwapDataset(test_set, mode='within', seed=0).partners.tolist() == partners


def test_swap_across_takes_an_image_of_another_dataset(test_set):
    swapped = DATASETS.build(dict(type='CaptionSwapDataset', dataset=test_set, mode='across',
                                  seed=3))
    for i in range(len(swapped)):
        p = swapped.partner(i)
        assert test_set.get_data_info(p)['dataset_name'] != \
            test_set.get_data_info(i)['dataset_name']
        assert swapped[i]['data_samples'].caption == test_set.get_data_info(p)['captions'][0]


def test_swap_partners_rules():
    groups = ['a'] * 30 + ['b'] * 50 + ['c'] * 20
    within = swap_partners(groups, 'within', seed=5)
    assert sorted(within) == list(range(100)) and all(within != np.arange(100))
    assert all(groups[p] == g for p, g in zip(within, groups))
    assert not np.array_equal(within, swap_partners(groups, 'within', seed=6))
    across = swap_partners(groups, 'across', seed=5)
    assert all(groups[p] != g for p, g in zip(across, groups))
    with pytest.raises(ValueError, match="'across' needs samples of at least two datasets"):
        swap_partners(['a', 'a', 'a'], 'across')
    with pytest.raises(ValueError, match="dataset 'b' has 1 image"):
        swap_partners(['a', 'a', 'b'], 'within')
    with pytest.raises(ValueError, match='mode must be one of'):
        swap_partners(['a', 'a'], 'sideways')


def test_across_with_one_dataset_is_an_error(synthetic_root):
    one = DepthManifestDataset(ann_file='test.json', data_root=str(synthetic_root),
                               datasets=['synthetic_indoor'])
    with pytest.raises(ValueError, match="all 2 samples belong to 'synthetic_indoor'"):
        CaptionSwapDataset(one, mode='across')


def _direct(load_tool, config, ckpt, tmp_path, index, tag):
    """Metrics of ``tools/test.py`` with the test pipeline's caption index set."""
    out = tmp_path / f'direct_{tag}.json'
    load_tool('tools/test.py').main([
        str(config), str(ckpt), '--work-dir', str(tmp_path / f'wd_{tag}'), '--out', str(out),
        '--cfg-options', f'test_dataloader.dataset.pipeline.3.index={index}',
        f'visualizer.name=direct_{tag}'])  # a fresh mmengine Visualizer for this runner
    return json.loads(out.read_text())['metrics']


def test_tool_mean_std_and_direct_runs(load_tool, tiny_config, tiny_checkpoint, tmp_path):
    tool = load_tool('tools/analysis_tools/caption_robustness.py')
    out = tmp_path / 'robust.json'
    res = tool.main([str(tiny_config), str(tiny_checkpoint), '--swap', 'within', 'across',
                     '--out', str(out), '--device', 'cpu'])
    assert json.loads(out.read_text()) == json.loads(json.dumps(res))
    assert res['indices'] == [0, 1, 2]  # every demo image has 3 captions
    per = res['original']['per_index']
    for key in METRICS + ('synthetic_indoor/abs_rel',):
        values = [per[str(k)][key] for k in res['indices']]
        assert res['original']['mean'][key] == pytest.approx(np.mean(values), rel=1e-12)
        assert res['original']['std'][key] == pytest.approx(np.std(values), rel=1e-9, abs=1e-15)
    assert res['original']['std']['abs_rel'] > 0  # with trained heads the caption matters
    direct = _direct(load_tool, tiny_config, tiny_checkpoint, tmp_path, 1, 'ckpt')
    for key in METRICS:
        assert per['1'][key] == pytest.approx(direct[key], rel=1e-5, abs=1e-7)
    for mode in ('within', 'across'):
        entry = res['swap'][mode]
        assert len(entry['pairs']) == 6 and entry['seed'] == 0
        assert entry['protocol']['synthetic_indoor']['caption_swap'] == mode
        assert entry['delta_mean']['abs_rel'] == pytest.approx(
            entry['mean']['abs_rel'] - res['original']['mean']['abs_rel'])
        assert entry['per_index']['0']['abs_rel'] != per['0']['abs_rel']
    assert res['protocol']['synthetic_indoor']['caption_index'] == 0


def test_tool_with_untrained_model(load_tool, tiny_config, tmp_path):
    """Checkpoint 'none': same numbers as tools/test.py CONFIG none; untrained TR2M heads are
    constant, so captions cannot matter (std 0)."""
    tool = load_tool('tools/analysis_tools/caption_robustness.py')
    res = tool.main([str(tiny_config), 'none', '--all-indices', '--swap', 'within'])
    assert res['indices'] == [0, 1, 2]
    direct = _direct(load_tool, tiny_config, 'none', tmp_path, 2, 'none')
    for key in METRICS:
        assert res['original']['per_index']['2'][key] == pytest.approx(direct[key], rel=1e-6)
        assert res['original']['std'][key] == 0.0
        assert res['swap']['within']['mean'][key] == pytest.approx(
            res['original']['mean'][key], rel=1e-6)


def test_index_policy(load_tool):
    tool = load_tool('tools/analysis_tools/caption_robustness.py')
    paths = ['a.png', 'b.png', 'c.png']
    assert tool.choose_indices([3, 2, 5], None, paths) == [0, 1]
    assert tool.choose_indices([3, 2, 5], [1, 0, 1], paths) == [1, 0]
    with pytest.raises(SystemExit, match=r'caption index 2: 1 of 3 .*b.png.*indices 0..1'):
        tool.choose_indices([3, 2, 5], [2], paths)
    with pytest.raises(SystemExit, match='have no caption'):
        tool.choose_indices([3, 0, 5], None, paths)


def test_swap_over_concat_dataset(synthetic_root, tiny_config):
    """Mixed test sets are mmengine ConcatDatasets: each sample keeps its own sub-pipeline."""
    pipeline = Config.fromfile(str(tiny_config)).test_dataloader.dataset.pipeline
    parts = [dict(type='DepthManifestDataset', ann_file='test.json', data_root=str(synthetic_root),
                  datasets=[name], pipeline=pipeline, test_mode=True)
             for name in ('synthetic_indoor', 'synthetic_endoscopic')]
    concat = dict(type='ConcatDataset', datasets=parts, ignore_keys=['dataset_name', 'protocol'])
    swapped = DATASETS.build(dict(type='CaptionSwapDataset', dataset=concat, mode='across'))
    assert len(swapped) == 4
    for i in range(4):
        mine = swapped.dataset.get_data_info(i)
        donor = swapped.dataset.get_data_info(swapped.partner(i))
        assert {mine['dataset_name'], donor['dataset_name']} == {'synthetic_indoor',
                                                                 'synthetic_endoscopic'}
        sample = swapped[i]['data_samples']
        assert sample.caption == donor['captions'][0]
        assert sample.dataset_name == mine['dataset_name']
