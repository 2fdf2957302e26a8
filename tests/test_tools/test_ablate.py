"""``tools/ablate.py``: a 2-run grid on the demo set, dry runs, the shipped grids (the grid
logic itself: ``tests/test_analysis/test_ablation.py``)."""
import json
from pathlib import Path

import pytest

from tr2m.utils.errors import ConfigError

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
    assert '| run | optim_wrapper.optimizer.lr | seeds | status | train time | abs_rel |' in table
    assert (f"| lr=0.05 | 0.05 | 1 | ok | {second['train_seconds']:.0f} s | "
            f"{second['metrics']['abs_rel']:.4f} |") in table
    assert '| lr=0.0 | synthetic_endoscopic | m |' in table
    assert [row['metrics']['abs_rel'] for row in saved['pooled']] == [
        dict(mean=r['metrics']['abs_rel'], std=None, n=1) for r in saved['runs']]

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
    with pytest.raises(ConfigError, match=r"model\.loss_pseudo has no 'roh'; did you mean "
                                          r'model\.loss_pseudo\.rho'):
        ablate.main([str(grid), '--dry-run'])
    grid.write_text(f"base = {str(QUICKSTART)!r}\ngrid = {{'model.nek.x': [1]}}\n")
    with pytest.raises(ConfigError, match='did you mean model.neck'):
        ablate.main([str(grid), '--dry-run'])
    grid.write_text(f"base = {str(QUICKSTART)!r}\nmode = 'zip'\n"
                    "grid = {'model.loss_pseudo.rho': [0.8, 0.9], 'model.soc.momentum': [0.9]}\n")
    with pytest.raises(ConfigError, match="mode='zip' needs lists of one length"):
        ablate.main([str(grid), '--dry-run'])
    grid.write_text(f"base = {str(QUICKSTART)!r}\ngrid = {{'model.soc.momentum': [0.9]}}\n")
    with pytest.raises(ConfigError, match='--cfg-options.*did you mean train_cfg'):
        ablate.main([str(grid), '--dry-run', '--cfg-options', 'train_cgf.max_epochs=1'])
    # on the command line: one line and exit code 2
    from tr2m.utils import cli

    with pytest.raises(SystemExit) as err:
        cli.run(ablate.main, [str(grid), '--dry-run', '--cfg-options', 'train_cgf.max_epochs=1'],
                prog='ablate.py')
    assert err.value.code == 2
    assert capsys.readouterr().err.startswith('ablate.py: error: --cfg-options')


@pytest.mark.parametrize('grid', sorted((QUICKSTART.parents[1] / 'grids').glob('*.py')),
                         ids=lambda p: p.stem)
def test_shipped_grids_validate(load_tool, tmp_path, grid):
    """Every grid under configs/grids names existing keys (a dry run checks all of them)."""
    ablate = load_tool('tools/ablate.py')
    out = ablate.main([str(grid), '--dry-run', '--work-dir', str(tmp_path)])
    assert out['runs'] and not any(tmp_path.iterdir())
