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


def bench_model_params(r):
    """The trainable parameters of the model the benchmark built (same config, same seed)."""
    from tr2m.analysis.benchmark import Bench, BenchmarkOptions
    from tr2m.utils.config import load_config

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('TR2M_RANDOM_INIT', '1')
        model = Bench(load_config(str(QUICKSTART)), BenchmarkOptions(batch_size=2, repeats=1,
                                                                     warmup=0), 'cpu').build()
    return [p for p in model.parameters() if p.requires_grad]


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
    assert a['predict']['speedup'] == r['ratios']['amp_speedup_predict']
    assert a['predict']['depth_median_rel_diff'] < 0.05  # bf16 depths near the fp32 ones
    assert set(a['step3_losses_rel_diff']) >= {'loss_silog', 'loss_soc'}
    for key, (fp32, bf16) in a['step3_losses'].items():
        assert a['step3_losses_rel_diff'][key] == (abs(fp32 - bf16) / abs(fp32) if fp32 != bf16
                                                   else 0.0)
    fp32, bf16 = a['step3_losses']['loss']  # the toy model after 3 steps: close, not equal
    assert bf16 == pytest.approx(fp32, rel=0.2)
    from tr2m.utils.hardware import describe_device

    assert r['hardware'] == describe_device('cpu') and f"hardware: {r['hardware']}" in text
    assert list(r['soc']) == ['8x8']
    s = r['soc']['8x8']
    assert s['queries'] == [2, 16, 8, 8] and s['key_sets'] == 2 and s['keys_per_image'] == 128
    assert s['max_abs_diff'] < 1e-5 and s['grad_max_abs_diff'] < 1e-5
    assert s['class_mean']['peak_mib'] >= 0 and 'subprocess' in s['memory_method']
    assert set(r['ratios']) == {'cache_speedup', 'cache_speedup_cpu', 'frozen_share',
                                'soc_speedup', 'soc_speedup_cpu', 'soc_memory_ratio',
                                'amp_speedup', 'amp_speedup_cpu', 'amp_speedup_cached',
                                'amp_speedup_cached_cpu', 'amp_speedup_predict',
                                'amp_speedup_predict_cpu', 'optim_fused_speedup',
                                'optim_fused_speedup_cpu'}
    o = r['optim']
    assert o['num_params'] == sum(p.numel() for p in bench_model_params(r))
    assert o['fused']['max_abs_diff'] < 1e-6 and o['foreach']['max_abs_diff'] < 1e-6
    assert o['fused_speedup'] == r['ratios']['optim_fused_speedup']
    # every key of the JSON is named in --help
    documented = bench.__doc__
    for key in (list(r) + list(r['cache']) + list(s) + list(r['ratios']) + list(a)
                + list(a['predict']) + list(o)):
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
