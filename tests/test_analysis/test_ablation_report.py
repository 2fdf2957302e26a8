"""tr2m/analysis/ablation_report.py: seeds pooled into mean and spread, training time, and
aggregates only over datasets of one unit."""
import math

import pytest

from tr2m.analysis.ablation_report import (
    format_seconds,
    format_spread,
    markdown_summary,
    mean_spread,
    pool_runs,
    pooled_json,
)

SPEC = dict(name='g', base='b.py', mode='product',
            grid={'model.loss_pseudo.rho': [0.8, 0.9], 'randomness.seed': [0, 1, 2]})


def _entry(rho, seed, abs_rel, rmse, secs, status='ok', units=('m', 'm')):
    metrics = {'abs_rel': abs_rel, 'rmse': rmse, 'd1': 0.5,
               'nyu/abs_rel': abs_rel, 'nyu/rmse': rmse, 'c3vd/abs_rel': abs_rel,
               'c3vd/rmse': None if rmse is None else rmse * 1000}
    return dict(name=f'rho={rho}__seed={seed}', labels={'model.loss_pseudo.rho': str(rho),
                                                        'randomness.seed': str(seed)},
                status=status, metrics=None if status == 'failed' else metrics,
                protocol=dict(nyu=dict(units=units[0]), c3vd=dict(units=units[1])),
                train_seconds=secs, error='boom' if status == 'failed' else None)


def test_mean_spread_and_formats():
    mean, std, n = mean_spread([0.2, 0.25, 0.3])
    assert (mean, n) == (pytest.approx(0.25), 3) and std == pytest.approx(0.05)
    assert mean_spread([0.2]) == (0.2, None, 1)
    assert mean_spread([None, float('nan')]) == (None, None, 0)
    assert format_spread(0.25, 0.05) == '0.250 ± 0.050'
    assert format_spread(0.23456, 0.0123) == '0.235 ± 0.012'
    assert format_spread(12.3456, 1.5) == '12.3 ± 1.5'
    assert format_spread(0.2, None) == '0.2000' and format_spread(None, None) == '-'
    assert [format_seconds(s) for s in (42, 210, 9000, None)] == ['42 s', '3.5 min', '2.5 h',
                                                                   '-']


def test_seeds_pool_into_one_row_per_setting():
    entries = [_entry(0.8, s, a, 1.0 + s, 100 + 10 * s) for s, a in enumerate([0.2, 0.25, 0.3])]
    entries += [_entry(0.9, 0, 0.4, 2.0, 50), _entry(0.9, 1, None, None, None, 'failed')]
    rows = pool_runs(list(SPEC['grid']), entries)
    assert [r['name'] for r in rows] == ['rho=0.8', 'rho=0.9']
    first, second = rows
    assert first['runs'] == ['rho=0.8__seed=0', 'rho=0.8__seed=1', 'rho=0.8__seed=2']
    assert first['finished'] == 3 and first['status'] == 'ok'
    assert first['train_seconds'] == pytest.approx(110)
    mean, std, n = first['metrics']['abs_rel']
    assert (mean, std, n) == (pytest.approx(0.25), pytest.approx(0.05), 3)
    assert second['status'] == '1/2 ok' and second['metrics']['abs_rel'] == (0.4, None, 1)
    table = markdown_summary(SPEC, entries)
    assert 'seeds pooled over `randomness.seed`' in table
    assert '| run | model.loss_pseudo.rho | seeds | status | train time | abs_rel |' in table
    assert '| rho=0.8 | 0.8 | 3 | ok | 110 s | 0.250 ± 0.050 |' in table
    assert '| rho=0.9 | 0.9 | 1 | 1/2 ok | 50 s | 0.4000 |' in table
    assert '- `rho=0.9__seed=1`: boom' in table
    assert pooled_json(rows)[0]['metrics']['abs_rel'] == dict(mean=pytest.approx(0.25),
                                                              std=pytest.approx(0.05), n=3)


def test_rmse_is_never_averaged_over_metres_and_millimetres():
    mixed = [_entry(0.8, 0, 0.2, 1.0, 10, units=('m', 'mm'))]
    row = pool_runs(list(SPEC['grid']), mixed)[0]
    assert row['mixed_units'] and 'rmse' not in row['metrics'] and 'abs_rel' in row['metrics']
    assert row['metrics']['c3vd/rmse'][0] == 1000.0  # per dataset, in its own unit
    table = markdown_summary(SPEC, mixed)
    line = next(ln for ln in table.splitlines() if ln.startswith('| rho=0.8 | 0.8 |'))
    cells = [c.strip() for c in line.strip('|').split('|')]
    assert cells[5:8] == ['0.2000', '-', '-']  # abs_rel kept; sq_rel, rmse left out
    assert "rmse, sq_rel: per dataset only where the datasets' units differ (m, mm)" in table
    assert '| rho=0.8 | c3vd | mm | 0.2000 | - | 1000.0000 |' in table
    same = pool_runs(list(SPEC['grid']), [_entry(0.8, 0, 0.2, 1.0, 10)])[0]
    assert not same['mixed_units'] and same['metrics']['rmse'][0] == 1.0
    assert math.isclose(same['metrics']['nyu/rmse'][0], 1.0)
