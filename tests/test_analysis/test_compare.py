"""tr2m/analysis/compare.py and compare_table.py: comparison files, the merged config of each
method, where its weights come from, and the table (markdown + CSV) with each row's protocol."""
import csv
import io
import json
from pathlib import Path

import pytest

from tr2m.analysis.compare import load_compare_spec, method_config, weights_summary
from tr2m.analysis.compare_table import (
    csv_table,
    markdown_table,
    protocol_text,
    result_rows,
    summarise,
)
from tr2m.utils import register_all_modules
from tr2m.utils.errors import ConfigError, MissingFileError, UserError

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'configs' / 'compare' / 'demo.py'
PAPER = REPO / 'configs' / 'compare' / 'paper.py'

register_all_modules()


def test_shipped_comparison_files_load_and_merge():
    demo = load_compare_spec(str(DEMO))
    assert demo['name'] == 'demo' and demo['evaluator'] == dict(boundary=True)
    assert list(demo['methods'])[:3] == ['TR2M', 'RSA', 'median']
    assert demo['methods']['TR2M']['checkpoint'] == 'train'
    assert demo['methods']['median']['checkpoint'] == 'none'
    paper = load_compare_spec(str(PAPER))
    assert paper['test_set'].endswith('mixed_nyu_kitti_void_c3vd.py') and paper['train_set'] is None
    for spec in (demo, paper):  # every method's config merges and every override exists
        for name in spec['methods']:
            cfg = method_config(spec, name)
            assert cfg.test_evaluator['type'] == 'DepthMetric'
            assert cfg.test_evaluator['boundary'] is True
    lsq = method_config(demo, 'lsq')
    assert lsq.test_evaluator['alignment'] == 'lsq'  # the method's own evaluator, updated
    assert lsq.test_dataloader.dataset.ann_file == 'test.json'  # the demo test set
    pro = method_config(demo, 'Depth Pro (toy)')
    assert pro.model.arch == 'depth_pro_tiny' and pro.model.pretrained is None
    assert pro.train_dataloader.dataset.type == 'DepthManifestDataset'  # the train set too
    rsa = method_config(demo, 'RSA')  # the train set's data, RSA's own batch composition
    assert rsa.train_dataloader.dataset.ann_file == 'train.json'
    assert rsa.train_dataloader.batch_sampler.type == 'PerDatasetBatchSampler'
    nyu = method_config(paper, 'DA-V2 metric indoor L')
    assert [d.type for d in nyu.test_dataloader.dataset.datasets] == [
        'NYUv2Dataset', 'KITTIDataset', 'VOIDDataset', 'C3VDDataset']


def test_strict_overrides_and_bad_files(tmp_path):
    demo = load_compare_spec(str(DEMO))
    with pytest.raises(ConfigError, match=r"'median'.*did you mean"):
        method_config(demo, 'median', {'test_evaluator.alignmnt': 'lsq'})
    with pytest.raises(MissingFileError, match='not found'):
        load_compare_spec(str(tmp_path / 'nope.py'))
    cases = {
        "methods = {'a': dict(config='x.py')}": 'needs test_set',
        f"test_set = {str(DEMO)!r}\nmethods = {{}}": 'needs methods',
        f"test_set = {str(DEMO)!r}\nmetods = 1\nmethods = {{'a': dict(config={str(DEMO)!r})}}":
            "unknown top-level names \\['metods'\\]",
        f"test_set = {str(DEMO)!r}\nmethods = {{'a': dict(config={str(DEMO)!r}, ckpt=1)}}":
            "unknown keys \\['ckpt'\\]",
        f"test_set = {str(DEMO)!r}\nmethods = {{'a': dict(config='missing.py')}}":
            "config of 'a' not found",
    }
    for i, (text, message) in enumerate(cases.items()):
        path = tmp_path / f'spec{i}.py'
        path.write_text(text)
        with pytest.raises(UserError, match=message):  # one line, exit code 2 in the tool
            load_compare_spec(str(path))


def test_weights_summary(monkeypatch):
    demo = load_compare_spec(str(DEMO))
    monkeypatch.delenv('TR2M_RANDOM_INIT', raising=False)
    tr2m = weights_summary(method_config(demo, 'TR2M').model.to_dict(), 'train')
    assert tr2m == ('trained here; RANDOM weights: image_encoder (vit_tiny14); simulated: '
                    'relative_depth; pretrained: text_encoder (all-MiniLM-L6-v2): '
                    'sentence-transformers/all-MiniLM-L6-v2')
    toy = weights_summary(method_config(demo, 'Depth Pro (toy)').model.to_dict(), 'none')
    assert toy == 'RANDOM weights: model (depth_pro_tiny)'
    paper = load_compare_spec(str(PAPER))
    real = weights_summary(method_config(paper, 'Depth Pro').model.to_dict(), 'none')
    assert real == 'pretrained: model (depth_pro): default'
    rsa = weights_summary(method_config(paper, 'RSA').model.to_dict(), 'work/epoch_20.pth')
    assert rsa.startswith('checkpoint epoch_20.pth; pretrained: relative_depth (da_v1_s)')
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    assert weights_summary(method_config(paper, 'Depth Pro').model.to_dict(), 'none') == \
        'RANDOM weights: model (depth_pro)'


def _result():
    proto = dict(count=2, skipped=0, crop='eigen', crop_convention='fixed', min_depth=1e-3,
                 max_depth=10.0, units='m', alignment='median', aggregation='per_image',
                 boundary=dict(reduction='directions'))
    metrics = {'abs_rel': 0.2, 'd1': 0.7, 'boundary_f1': 0.3,
               'nyu/abs_rel': 0.1, 'nyu/d1': 0.9, 'nyu/boundary_f1': 0.4,
               'kitti/abs_rel': 0.3, 'kitti/d1': 0.5, 'kitti/boundary_f1': 0.2}
    protocol = dict(nyu=dict(proto, dataset='nyu'),
                    kitti=dict(proto, dataset='kitti', crop='garg', crop_convention='gt_frame',
                               max_depth=80.0, count=3))
    return dict(metrics=metrics, protocol=protocol)


def test_rows_markdown_and_csv():
    entry = dict(status='ok', weights='RANDOM weights: model (x)', checkpoint='none',
                 config='c.py', config_hash='abc', result=_result())
    rows = result_rows('M', entry)
    assert [r['dataset'] for r in rows] == ['nyu', 'kitti', 'all']
    assert (rows[0]['abs_rel'], rows[0]['d1'], rows[0]['boundary_f1']) == (0.1, 0.9, 0.4)
    assert (rows[2]['abs_rel'], rows[2]['count']) == (0.2, 5)
    assert rows[1]['crop_convention'] == 'gt_frame' and rows[1]['max_depth'] == 80.0
    assert protocol_text(rows[0]) == 'align=median; crop=eigen (fixed); 0.0010-10 m; per_image'
    assert protocol_text(rows[1]).startswith('align=median; crop=garg (gt_frame); 0.0010-80 m')
    failed = result_rows('F', dict(status='failed', error='ValueError: boom', result=None))
    spec = dict(name='t', test_set=str(DEMO), evaluator={})
    md = markdown_table(spec, rows + failed)
    assert '## nyu (2 images)' in md and '## kitti (3 images)' in md
    assert '| M | 0.1000 |' in md and 'RANDOM weights: model (x)' in md
    assert '- `F`: ValueError: boom' in md
    parsed = list(csv.DictReader(io.StringIO(csv_table(rows + failed))))
    assert [p['dataset'] for p in parsed] == ['nyu', 'kitti', 'all', '']
    assert parsed[1]['crop'] == 'garg' and float(parsed[1]['abs_rel']) == 0.3
    assert json.loads(parsed[0]['boundary']) == dict(reduction='directions')
    assert parsed[3]['status'] == 'failed' and parsed[3]['error'] == 'ValueError: boom'
    out = summarise(spec, dict(M=entry))
    assert out['rows'] == rows and out['markdown'].startswith('# Comparison `t`')
