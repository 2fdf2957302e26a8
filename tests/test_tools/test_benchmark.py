"""``tools/analysis_tools/benchmark.py`` on the quickstart config with tiny iteration counts."""
import json
from pathlib import Path

import pytest
import torch

from tr2m.models.losses import soc_loss

QUICKSTART = Path(__file__).resolve().parents[2] / 'configs' / 'quickstart' / 'tr2m_synthetic.py'


def test_benchmark_quickstart_json(load_tool, monkeypatch, capsys):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')  # what the tool sets itself; restored after
    bench = load_tool('tools/analysis_tools/benchmark.py')
    bench.main([str(QUICKSTART), '--iters', '2', '--warmup', '1', '--batch-size', '2',
                '--device', 'cpu', '--json'])
    stdout = capsys.readouterr().out.strip().splitlines()
    r = json.loads(stdout[-1])  # one JSON object
    assert r['random_init'] is True and r['batch_size'] == 2
    assert r['train_shape'] == [84, 112] == r['test_shape']  # RandomCrop / Resize of the config
    for name in ('train', 'predict'):
        assert r[name]['ms_per_iter'] > 0 and r[name]['iters'] == 2
        assert r[name]['images_per_s'] == pytest.approx(2e3 / r[name]['ms_per_iter'])
        assert 'peak_mem_mib' not in r[name]  # CUDA only
    modules = r['breakdown']['modules']
    assert {n for n, m in modules.items() if m['frozen']} == {
        'relative_depth', 'image_encoder', 'text_encoder'}
    assert 0 < r['breakdown']['frozen_share'] < 1
    assert r['ratios']['frozen_share'] == r['breakdown']['frozen_share']
    text = r['text_encoder']
    assert text['captions'] == 2 and text['speedup'] == r['ratios']['text_cache_speedup']
    assert text['speedup'] > 1  # a dictionary lookup beats a 6-layer transformer
    soc = r['soc']
    assert soc['feature_shape'] == [2, 32, 3, 4]  # projector: 6x8 tokens, 2x2 max pooling
    assert soc['max_abs_diff'] < 1e-5 and soc['speedup'] == r['ratios']['soc_speedup']


def test_pairwise_reference_matches_soc_loss(load_tool):
    bench = load_tool('tools/analysis_tools/benchmark.py')
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(2, 5, 4, 3, generator=gen)
    k = torch.randn(2, 2, 5, 4, 3, generator=gen)
    q_cls = torch.randint(-1, 4, (2, 4, 3), generator=gen)
    k_cls = torch.randint(-1, 4, (2, 2, 4, 3), generator=gen)
    for reduction in ('sum', 'mean'):
        ref = bench.soc_loss_pairwise(q, k, q_cls, k_cls, reduction, temperature=0.5)
        fast = soc_loss(q, k, q_cls, k_cls, reduction, temperature=0.5)
        assert torch.allclose(ref, fast, atol=1e-6)


def test_input_shape_from_pipelines(load_tool):
    bench = load_tool('tools/analysis_tools/benchmark.py')
    assert bench.pipeline_shape([dict(type='LoadRGBImage'),
                                 dict(type='Resize', scale=(480, 640), size_divisor=14)]) == \
        (476, 644)
    assert bench.pipeline_shape([dict(type='Resize', scale=(480, 640)),
                                 dict(type='RandomCrop', crop_size=(416, 544))]) == (416, 544)
    assert bench.pipeline_shape([dict(type='KBCrop'), dict(
        type='Resize', scale=(352, 1216), keep_ratio=True, size_divisor=14)]) == (350, 1218)
    assert bench.pipeline_shape([dict(type='LoadRGBImage')]) is None
