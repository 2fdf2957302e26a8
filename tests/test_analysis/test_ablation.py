"""tr2m/analysis/ablation.py: grid files, run names and labels, the paper tables' grids."""
from pathlib import Path

import pytest

from tr2m.analysis import ablation
from tr2m.utils.errors import ConfigError, MissingFileError

QUICKSTART = Path(__file__).resolve().parents[2] / 'configs' / 'quickstart' / 'tr2m_synthetic.py'


def test_zip_labels_and_short_keys(tmp_path):
    grid = tmp_path / 'z.py'
    grid.write_text(f"""base = {str(QUICKSTART)!r}
mode = 'zip'
test = False
grid = {{'model.scale_head.channels': [16, 32],
        'model.shift_head.channels': [16, 32],
        'model.soc': {{'soc': dict(type='ScaleOrientedContrast'), 'nosoc': None}}}}
""")
    spec = ablation.load_grid(str(grid))
    runs = ablation.expand_runs(spec)
    assert spec['test'] is False
    assert [r['name'] for r in runs] == [
        'scale_head.channels=16__shift_head.channels=16__soc=soc',
        'scale_head.channels=32__shift_head.channels=32__soc=nosoc']
    assert runs[1]['overrides']['model.soc'] is None
    cfg = ablation.run_config(spec, runs[1], {})
    assert cfg.model.soc is None and cfg.model.scale_head.channels == 32
    # two dicts of one type get a hash to keep names apart
    labels = [label for label, _ in ablation._labelled('k', [dict(type='A', x=1),
                                                            dict(type='A', x=2), None])]
    assert labels[0].startswith('A-') and labels[0] != labels[1] and labels[2] == 'none'
    grid.write_text("base = 'nowhere.py'\ngrid = {'a': [1]}\n")
    with pytest.raises(MissingFileError, match='base config not found'):
        ablation.load_grid(str(grid))
    grid.write_text(f"base = {str(QUICKSTART)!r}\ngrid = {{'a': [1]}}\nmodee = 'zip'\n")
    with pytest.raises(ConfigError, match=r"unknown top-level names \['modee'\]"):
        ablation.load_grid(str(grid))


#: Rows of the paper's ablation tables, as the shipped grids must expand them (paper config and
#: demo config alike).
PAPER_TABLES = {'table4_modules': 5, 'table5_modalities': 3, 'table9_backbones': 10,
                'table11_maps': 3, 'table12_classes': 4}


@pytest.mark.parametrize('table', sorted(PAPER_TABLES))
def test_paper_tables_expand_to_their_rows(table):
    """Each paper table is a grid on the paper config and one on the demo config."""

    grids = QUICKSTART.parents[1] / 'grids'
    paper = ablation.load_grid(str(grids / f'{table}.py'))
    demo = ablation.load_grid(str(grids / f'{table}_demo.py'))
    assert paper['base'].endswith('tr2m_da_s.py') and demo['base'].endswith('tr2m_synthetic.py')
    rows = PAPER_TABLES[table]
    assert len(ablation.expand_runs(paper)) == rows
    assert len(ablation.expand_runs(demo)) == (4 if table == 'table9_backbones' else rows)
    if table == 'table4_modules':  # cumulative: each row switches on one more part
        runs = ablation.expand_runs(demo)
        assert [r['overrides']['model.soc'] is None for r in runs] == [True] * 3 + [False] * 2
        assert runs[0]['overrides']['model.scale_head.global_pool'] is True


def test_zip_allows_a_value_in_several_rows(tmp_path):
    grid = tmp_path / 'rows.py'
    grid.write_text(f"base = {str(QUICKSTART)!r}\nmode = 'zip'\n"
                    "grid = {'model.loss_silog.form': ['paper', 'paper'], "
                    "'model.soc': [None, dict(type='ScaleOrientedContrast')]}\n")
    runs = ablation.expand_runs(ablation.load_grid(str(grid)))
    assert [r['name'] for r in runs] == ['form=paper__soc=none',
                                         'form=paper__soc=ScaleOrientedContrast']
    grid.write_text(f"base = {str(QUICKSTART)!r}\n"
                    "grid = {'model.loss_silog.form': ['paper', 'paper']}\n")
    with pytest.raises(ConfigError, match='repeated values'):  # product: a repeat is a typo
        ablation.load_grid(str(grid))
