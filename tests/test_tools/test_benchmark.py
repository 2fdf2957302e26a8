"""``tools/analysis_tools/benchmark.py`` on the quickstart config with tiny counts: the JSON
keys its ``--help`` documents (the library: ``tests/test_analysis/``); ``get_flops.py``."""
import json
import re
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parents[2] / 'configs' / 'quickstart' / 'tr2m_synthetic.py'
PHASE = {'wall_ms', 'cpu_ms', 'images_per_s', 'wall_ms_all', 'repeats', 'warmup'}


@pytest.fixture(scope='module')
def report(load_tool):
    import contextlib
    import io

    bench = load_tool('tools/analysis_tools/benchmark.py')
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.setenv('TR2M_RANDOM_INIT', '1')  # what the tool sets itself; restored after
        bench.main([str(QUICKSTART), '--repeats', '3', '--warmup', '0', '--batch-size', '2',
                    '--device', 'cpu', '--threads', '1', '--soc-size', '8', '8', '--soc-dim',
                    '16', '--json'])
    lines = out.getvalue().strip().splitlines()
    return bench, json.loads(lines[-1]), out.getvalue()


def test_json_keys_as_documented(report):
    bench, r, text = report
    assert r['threads'] == 1 and r['batch_size'] == 2 and r['shape'] == [84, 112]
    assert r['sections'] == list(bench.DEFAULT_SECTIONS) and r['random_init'] is True
    for name in ('train', 'cache', 'predict'):
        assert PHASE <= set(r[name]) and len(r[name]['wall_ms_all']) == 3
        assert r[name]['images_per_s'] == pytest.approx(2e3 / r[name]['wall_ms'])
        assert r[name]['cpu_ms'] > 0 and 'peak_mem_mib' not in r[name]  # CUDA only
    c = r['cache']
    assert c['dtype'] == 'float16' and c['speedup'] == r['ratios']['cache_speedup']
    assert c['first_step_max_rel_diff'] < 1e-3 and c['first_step_grad_rel_diff'] < 1e-3
    assert set(c['first_step_losses']) >= {'loss_silog', 'loss_pseudo', 'loss_soc'}
    assert c['weights']['init_max_abs_diff'] == 0  # both runs start from the same weights
    f = r['frozen']
    assert {n for n, m in f['modules'].items() if m['frozen']} == {
        'relative_depth', 'image_encoder', 'text_encoder'}
    assert 0 < f['frozen_share'] < 1 and f['frozen_share'] == r['ratios']['frozen_share']
    assert sum(m['share'] for m in f['modules'].values()) < 1.05
    a = r['amp']
    assert a['dtype'] == 'bfloat16' and {'train', 'cache', 'losses_rel_diff'} <= set(a)
    assert a['train']['speedup'] == r['ratios']['amp_speedup']
    s = r['soc']
    assert s['queries'] == [2, 16, 8, 8] and s['key_sets'] == 2 and s['keys_per_image'] == 128
    assert s['max_abs_diff'] < 1e-5 and s['grad_max_abs_diff'] < 1e-5
    assert s['class_mean']['peak_mib'] >= 0 and 'subprocess' in s['memory_method']
    assert set(r['ratios']) == {'cache_speedup', 'cache_speedup_cpu', 'frozen_share',
                                'soc_speedup', 'soc_speedup_cpu', 'soc_memory_ratio',
                                'amp_speedup', 'amp_speedup_cpu', 'amp_speedup_cached',
                                'amp_speedup_cached_cpu'}
    # every key of the JSON is named in --help
    documented = bench.__doc__
    for key in list(r) + list(r['cache']) + list(r['soc']) + list(r['ratios']):
        assert re.search(rf'\b{key}\b', documented), key
    assert 'train from cache' in text  # the table precedes the JSON


def test_get_flops_rows_sum_to_total(load_tool, tiny_config, capsys, monkeypatch):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    flops = load_tool('tools/analysis_tools/get_flops.py')
    r = flops.main([str(tiny_config), '--shape', '84', '112', '--depth', '2', '--json'])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(
        json.dumps(r))
    rows = r['modules']
    assert sum(m['flops'] for m in rows.values()) == r['total_flops'] > 0
    assert rows['(self)']['flops'] >= 0
    # hand count: the neck's query projection, 6 x 8 tokens of width 64 -> 2 heads x 8
    assert rows['neck.q']['flops'] == 2 * (6 * 8) * 64 * 16
    assert rows['image_encoder.model']['kind'] == 'frozen'
    assert rows['scale_head.stages']['kind'] == 'trainable'  # a ModuleList: its children's sum
    train = flops.main([str(tiny_config), '--shape', '84', '112', '--mode', 'train'])
    assert sum(m['flops'] for m in train['modules'].values()) == train['total_flops']
    assert train['modules']['(backward)']['flops'] > 0
    assert train['total_flops'] > r['total_flops']
