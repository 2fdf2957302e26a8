"""``tools/ablate.py``: grid files, strict keys, run names, a 2-run grid on the demo set."""
import json
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parents[2] / 'configs' / 'quickstart' / 'tr2m_synthetic.py'

GRID = """base = {base!r}
grid = {{'optim_wrapper.optimizer.lr': [0.0, 0.05]}}
options = {{
    'train_cfg.max_epochs': 1,
    'train_dataloader.batch_size': 6,
    'model.text_encoder.arch': 'bert_tiny',
    'model.text_encoder.pretrained': None,
    'model.scale_head.channels': 8,
    'model.shift_head.channels': 8,
    'model.neck.num_heads': 2,
    'model.neck.head_dim': 8,
    'model.soc.projector.hidden_channels': 8,
    'model.soc.projector.out_channels': 8,
}}
"""

def _data_roots(root):
    return [f'{loader}.dataset.data_root={root}'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]

def test_grid_trains_tests_and_summarises(load_tool, tmp_path, synthetic_root):
    ablate = load_tool('tools/ablate.py')
    grid = tmp_path / 'lr_grid.py'
    grid.write_text(GRID.format(base=str(QUICKSTART)))
    root = tmp_path / 'runs'
    argv = [str(grid), '--work-dir', str(root), '--cfg-options', *_data_roots(synthetic_root)]
    summary = ablate.main(argv)

    assert [r['name'] for r in summary['runs']] == ['lr=0.0', 'lr=0.05']
    saved = json.loads((root / 'lr_grid' / 'summary.json').read_text())
    assert [r['name'] for r in saved['runs']] == ['lr=0.0', 'lr=0.05']
    assert saved['options']['train_cfg.max_epochs'] == 1
    for run, lr in zip(saved['runs'], (0.0, 0.05)):
        run_dir = root / 'lr_grid' / run['name']
        assert run['status'] == 'ok' and run['error'] is None
        assert run['overrides'] == {'optim_wrapper.optimizer.lr': lr}
        assert run['checkpoint'] == str(run_dir / 'epoch_1.pth')  # the last checkpoint
        assert (run_dir / 'epoch_1.pth').is_file() and (run_dir / 'metrics.json').is_file()
        assert f'lr={lr}' in (run_dir / 'config.py').read_text()
        assert set(run['metrics']) >= {'abs_rel', 'd1', 'synthetic_indoor/abs_rel'}
        assert run['protocol']['synthetic_outdoor']['max_depth'] == 80.0
        direct = json.loads((run_dir / 'metrics.json').read_text())
        assert direct['metrics'] == run['metrics']  # what tools/test.py --out wrote
    # lr 0 leaves the zero-initialised heads alone (A = B = 1); lr 0.05 changes the model
    first, second = saved['runs']
    assert first['metrics']['abs_rel'] != second['metrics']['abs_rel']
    table = (root / 'lr_grid' / 'summary.md').read_text()
    assert '| run | optim_wrapper.optimizer.lr | status | abs_rel |' in table
    assert f"| lr=0.05 | 0.05 | ok | {second['metrics']['abs_rel']:.4f} |" in table
    assert '| lr=0.0 | synthetic_endoscopic |' in table

    # a second call reuses the finished runs instead of training again
    again = ablate.main(argv)
    assert [r['status'] for r in again['runs']] == ['reused', 'reused']
    assert again['runs'][1]['metrics'] == second['metrics']

def test_dry_run_validates_every_key(load_tool, tmp_path, capsys):

    ablate = load_tool('tools/ablate.py')
    grid = tmp_path / 'g.py'
    grid.write_text(f"""base = {str(QUICKSTART)!r}
grid = {{'model.loss_pseudo.rho': [0.8, 0.9, 0.95],
        'model.soc': [None, dict(type='ScaleOrientedContrast', temperature=0.5)]}}
""")
    out = ablate.main([str(grid), '--dry-run', '--work-dir', str(tmp_path / 'r')])
    names = [r['name'] for r in out['runs']]
    assert len(names) == 6 and names[0] == 'rho=0.8__soc=none'
    assert names[-1] == 'rho=0.95__soc=ScaleOrientedContrast'
    assert not (tmp_path / 'r').exists()  # nothing ran
    assert 'rho=0.9__soc=none' in capsys.readouterr().out

    grid.write_text(f"base = {str(QUICKSTART)!r}\ngrid = {{'model.loss_pseudo.roh': [0.8]}}\n")
    with pytest.raises(SystemExit, match=r"model\.loss_pseudo has no 'roh'; did you mean "
                                         r'model\.loss_pseudo\.rho'):
        ablate.main([str(grid), '--dry-run'])
    grid.write_text(f"base = {str(QUICKSTART)!r}\ngrid = {{'model.nek.x': [1]}}\n")
    with pytest.raises(SystemExit, match='did you mean model.neck'):
        ablate.main([str(grid), '--dry-run'])
    grid.write_text(f"base = {str(QUICKSTART)!r}\nmode = 'zip'\n"
                    "grid = {'model.loss_pseudo.rho': [0.8, 0.9], 'model.soc.momentum': [0.9]}\n")
    with pytest.raises(SystemExit, match="mode='zip' needs lists of one length"):
        ablate.main([str(grid), '--dry-run'])
    grid.write_text(f"base = {str(QUICKSTART)!r}\ngrid = {{'model.soc.momentum': [0.9]}}\n")
    with pytest.raises(SystemExit, match='--cfg-options.*did you mean train_cfg'):
        ablate.main([str(grid), '--dry-run', '--cfg-options', 'train_cgf.max_epochs=1'])

def test_zip_labels_and_short_keys(load_tool, tmp_path):

    ablate = load_tool('tools/ablate.py')
    grid = tmp_path / 'z.py'
    grid.write_text(f"""base = {str(QUICKSTART)!r}
mode = 'zip'
test = False
grid = {{'model.scale_head.channels': [16, 32],
        'model.shift_head.channels': [16, 32],
        'model.soc': {{'soc': dict(type='ScaleOrientedContrast'), 'nosoc': None}}}}
""")
    spec = ablate.load_grid(str(grid))
    runs = ablate.expand_runs(spec)
    assert spec['test'] is False
    assert [r['name'] for r in runs] == [
        'scale_head.channels=16__shift_head.channels=16__soc=soc',
        'scale_head.channels=32__shift_head.channels=32__soc=nosoc']
    assert runs[1]['overrides']['model.soc'] is None
    cfg = ablate.run_config(spec, runs[1], {})
    assert cfg.model.soc is None and cfg.model.scale_head.channels == 32
    # two dicts of one type get a hash to keep names apart
    labels = [label for label, _ in ablate._labelled('k', [dict(type='A', x=1),
                                                            dict(type='A', x=2), None])]
    assert labels[0].startswith('A-') and labels[0] != labels[1] and labels[2] == 'none'
    grid.write_text("base = 'nowhere.py'\ngrid = {'a': [1]}\n")
    with pytest.raises(SystemExit, match='base config not found'):
        ablate.load_grid(str(grid))
    grid.write_text(f"base = {str(QUICKSTART)!r}\ngrid = {{'a': [1]}}\nmodee = 'zip'\n")
    with pytest.raises(SystemExit, match=r"unknown top-level names \['modee'\]"):
        ablate.load_grid(str(grid))


def test_checkpoint_choice(load_tool, tmp_path):
    ablate = load_tool('tools/ablate.py')
    assert ablate._checkpoint(str(tmp_path), 'last') is None
    (tmp_path / 'epoch_1.pth').write_bytes(b'1')
    (tmp_path / 'epoch_2.pth').write_bytes(b'2')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert ablate._checkpoint(str(tmp_path), 'last') == str(tmp_path / 'epoch_2.pth')
    assert ablate._checkpoint(str(tmp_path), 'best') == str(tmp_path / 'epoch_2.pth')  # fallback
    (tmp_path / 'best_abs_rel_epoch_1.pth').write_bytes(b'b')
    assert ablate._checkpoint(str(tmp_path), 'best') == str(tmp_path / 'best_abs_rel_epoch_1.pth')


@pytest.mark.parametrize('grid', sorted((QUICKSTART.parents[1] / 'grids').glob('*.py')),
                         ids=lambda p: p.stem)
def test_shipped_grids_validate(load_tool, tmp_path, grid):
    """Every grid under configs/grids names existing keys (a dry run checks all of them)."""
    ablate = load_tool('tools/ablate.py')
    out = ablate.main([str(grid), '--dry-run', '--work-dir', str(tmp_path)])
    assert out['runs'] and not any(tmp_path.iterdir())


#: Rows of the paper's ablation tables, as the shipped grids must expand them (paper config and
#: demo config alike).
PAPER_TABLES = {'table4_modules': 5, 'table5_modalities': 3, 'table9_backbones': 10,
                'table11_maps': 3, 'table12_classes': 4}


@pytest.mark.parametrize('table', sorted(PAPER_TABLES))
def test_paper_tables_expand_to_their_rows(load_tool, table):
    """Each paper table is a grid on the paper config and one on the demo config."""
    ablate = load_tool('tools/ablate.py')
    grids = QUICKSTART.parents[1] / 'grids'
    paper = ablate.load_grid(str(grids / f'{table}.py'))
    demo = ablate.load_grid(str(grids / f'{table}_demo.py'))
    assert paper['base'].endswith('tr2m_da_s.py') and demo['base'].endswith('tr2m_synthetic.py')
    rows = PAPER_TABLES[table]
    assert len(ablate.expand_runs(paper)) == rows
    assert len(ablate.expand_runs(demo)) == (4 if table == 'table9_backbones' else rows)
    if table == 'table4_modules':  # cumulative: each row switches on one more part
        runs = ablate.expand_runs(demo)
        assert [r['overrides']['model.soc'] is None for r in runs] == [True] * 3 + [False] * 2
        assert runs[0]['overrides']['model.scale_head.global_pool'] is True


def test_zip_allows_a_value_in_several_rows(load_tool, tmp_path):
    ablate = load_tool('tools/ablate.py')
    grid = tmp_path / 'rows.py'
    grid.write_text(f"base = {str(QUICKSTART)!r}\nmode = 'zip'\n"
                    "grid = {'model.loss_silog.form': ['paper', 'paper'], "
                    "'model.soc': [None, dict(type='ScaleOrientedContrast')]}\n")
    runs = ablate.expand_runs(ablate.load_grid(str(grid)))
    assert [r['name'] for r in runs] == ['form=paper__soc=none',
                                         'form=paper__soc=ScaleOrientedContrast']
    grid.write_text(f"base = {str(QUICKSTART)!r}\n"
                    "grid = {'model.loss_silog.form': ['paper', 'paper']}\n")
    with pytest.raises(SystemExit, match='repeated values'):  # product: a repeat is a typo
        ablate.load_grid(str(grid))
