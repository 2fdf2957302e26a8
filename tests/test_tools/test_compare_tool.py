"""tools/analysis_tools/compare.py end to end: configs/compare/demo.py on the tiny demo set
(one training epoch; six of its ten methods, one of each kind, to keep the suite fast: every
method's config is merged by the dry run and built by tests/test_configs.py), the table it
writes, reuse of finished methods, failures."""
import csv
import json
from pathlib import Path

import pytest

from tr2m.utils.errors import ArgumentError

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / 'configs' / 'compare' / 'demo.py')
DATASETS = ['synthetic_indoor', 'synthetic_outdoor', 'synthetic_endoscopic', 'all']
METHODS = ['TR2M', 'median', 'lsq_inverse', 'Depth Pro (toy)', 'Depth Pro, known focal (toy)',
           'ZoeDepth NK (toy)']


def _options(root):
    return [f'{loader}.dataset.data_root={root}' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')] + [
            'train_cfg.max_epochs=1']


@pytest.fixture(scope='module')
def demo_run(load_tool, synthetic_root, tmp_path_factory):
    compare = load_tool('tools/analysis_tools/compare.py')
    work = tmp_path_factory.mktemp('compare')
    out = compare.main([DEMO, '--work-dir', str(work), '--methods', *METHODS,
                        '--cfg-options', *_options(synthetic_root)])
    return compare, work, out


def test_demo_comparison_table(demo_run):
    _, work, out = demo_run
    methods = list(out['entries'])
    assert methods == METHODS and all(e['status'] == 'ok' for e in out['entries'].values())
    rows = out['rows']
    assert [(r['method'], r['dataset']) for r in rows] == [(m, d) for m in methods
                                                           for d in DATASETS]
    by = {(r['method'], r['dataset']): r for r in rows}
    for r in rows:  # every row: the nine metrics, boundary F1 and its protocol
        assert all(isinstance(r[k], float) for k in ('abs_rel', 'd1', 'silog', 'boundary_f1'))
        if r['dataset'] != 'all':
            assert r['count'] == 2 and r['crop'] is None and r['units'] == 'm'
            assert r['aggregation'] == 'per_image'
    assert by['median', 'synthetic_outdoor']['alignment'] == 'median'
    assert by['lsq_inverse', 'synthetic_indoor']['alignment'] == 'lsq_inverse'
    assert by['TR2M', 'synthetic_outdoor']['max_depth'] == 80.0
    # where the weights come from, RANDOM spelled out
    assert by['TR2M', 'all']['weights'].startswith('trained here; RANDOM weights: image_encoder')
    assert by['Depth Pro (toy)', 'all']['weights'] == 'RANDOM weights: model (depth_pro_tiny)'
    assert 'simulated: relative_depth' in by['lsq_inverse', 'all']['weights']
    # the known focal length changes Depth Pro's prediction (the demo frames carry K)
    assert by['Depth Pro (toy)', 'all']['abs_rel'] != \
        by['Depth Pro, known focal (toy)', 'all']['abs_rel']
    # a per-image inverse-depth fit of the simulated relative depth is close to the GT
    assert by['lsq_inverse', 'all']['abs_rel'] < by['median', 'all']['abs_rel']
    root = work / 'demo'
    md = (root / 'comparison.md').read_text()
    assert md == out['markdown'] and '## synthetic_endoscopic (2 images)' in md
    assert '| Depth Pro (toy) |' in md and 'align=none; crop=none; 0.0010-0.2000 m' in md
    parsed = list(csv.DictReader((root / 'comparison.csv').open()))
    assert len(parsed) == 24 and parsed[0]['method'] == 'TR2M'
    assert json.loads(parsed[0]['boundary'])['reduction'] == 'directions'
    saved = json.loads((root / 'TR2M' / 'run.json').read_text())
    assert saved['checkpoint'].endswith('epoch_1.pth') and saved['train_seconds'] > 0


def test_finished_methods_are_reused_and_failures_recorded(demo_run, synthetic_root, capsys):
    compare, work, first = demo_run
    again = compare.main([DEMO, '--work-dir', str(work), '--methods', 'TR2M', 'median',
                          '--cfg-options', *_options(synthetic_root)])
    assert [e['status'] for e in again['entries'].values()] == ['reused', 'reused']
    assert again['rows'][0]['abs_rel'] == first['rows'][0]['abs_rel']
    with pytest.raises(SystemExit, match=r"1 method\(s\) failed: \['TR2M'\]"):
        compare.main([DEMO, '--work-dir', str(work), '--methods', 'TR2M', '--checkpoint',
                      'TR2M=/no/such.pth', '--cfg-options', *_options(synthetic_root)])
    assert 'checkpoint not found: /no/such.pth' in (work / 'demo' / 'comparison.md').read_text()
    with pytest.raises(ArgumentError, match='METHOD=CKPT'):
        compare.main([DEMO, '--checkpoint', 'Nobody=x.pth'])
    with pytest.raises(ArgumentError, match='METHOD=CKPT'):
        compare.main([DEMO, '--checkpoint', 'TR2M'])
    with pytest.raises(ArgumentError, match="unknown \\['Nobody'\\]"):
        compare.main([DEMO, '--methods', 'Nobody'])
    dry = compare.main([DEMO, '--dry-run'])  # all ten methods merge, every key exists
    assert len(dry['configs']) == 10
    capsys.readouterr()
