"""``tools/analysis_tools/neck_benchmark.py``: every (size, attention) in one subprocess, the
growth ratios computed from the rows."""
import json

import pytest


def test_two_sizes_both_forms(load_tool, tiny_config, capsys, monkeypatch):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    tool = load_tool('tools/analysis_tools/neck_benchmark.py')
    r = tool.main([str(tiny_config), '--shapes', '28', '42', '56', '84', '--steps', '1',
                   '--json'])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(
        json.dumps(r))
    assert list(r['runs']) == ['explicit@28x42', 'sdpa@28x42', 'explicit@56x84', 'sdpa@56x84']
    for row in r['runs'].values():
        assert row['tokens'] == (row['shape'][0] // 14) * (row['shape'][1] // 14)
        assert row['step_cpu_ms'] > 0 and row['step_peak_mib'] >= 0
    g = r['growth']
    assert g['pixels'] == pytest.approx(4.0)
    a, b = r['runs']['sdpa@28x42'], r['runs']['sdpa@56x84']
    assert g['sdpa']['step_cpu_ms'] == pytest.approx(b['step_cpu_ms'] / a['step_cpu_ms'])
    assert set(g) == {'pixels', 'explicit', 'sdpa'} and r['hardware'].startswith('cpu:')
