"""tr2m/analysis/data_benchmark.py: the ``data`` section of the benchmark on a tiny pipeline."""
import os
import warnings

import pytest
import torch
import torch.nn.functional as F

from tr2m.analysis import data_benchmark as db
from tr2m.utils.errors import ArgumentError

TINY_PIPELINE = [dict(type='LoadRGBImage'), dict(type='LoadDepth'),
                 dict(type='Resize', scale=(56, 70), size_divisor=14),
                 dict(type='RandomFlip', prob=0.5), dict(type='PackDepthInputs')]


def test_pipeline_rate_in_one_worker(rgbd_real):
    cfg = db.manifest_dataset_cfg(str(rgbd_real / 'manifest.json'), TINY_PIPELINE)
    cfg['datasets'] = ['nyu_v2']
    r = db.pipeline_rate(cfg, num_samples=5, workers=1)
    assert r['samples'] == 5 and r['workers'] == 1
    assert r['samples_per_s_per_worker'] == pytest.approx(1e3 / r['cpu_ms_per_sample'])
    assert r['cpu_ms_per_sample'] > 0 and r['wall_samples_per_s'] > 0
    in_process = db.pipeline_rate(cfg, num_samples=3, workers=0)
    assert in_process['samples'] == 3


def test_flop_counter_counts_cpu_attention():
    b, h, n, m, d = 2, 3, 10, 7, 8
    q = torch.randn(b, h, n, d, requires_grad=True)
    k, v = torch.randn(b, h, m, d), torch.randn(b, h, m, d)
    with db.flop_counter() as counter:
        out = F.scaled_dot_product_attention(q, k, v)
    assert counter.get_total_flops() == 4 * b * h * n * m * d
    with db.flop_counter() as counter:
        out.sum().backward()
    # PyTorch's SDPA backward: the scores recomputed (2) and dV, dP, dQ, dK (8), as in
    # tr2m.analysis.flops and get_flops.py (one convention for every FLOP figure)
    assert counter.get_total_flops() == 10 * b * h * n * m * d


def test_device_demand_and_entries():
    key, (bf16, fp32) = db.device_entry('NVIDIA H100 80GB HBM3')
    assert key == 'H100' and bf16 == 989.0
    assert db.device_entry('NVIDIA GeForce RTX 4090')[0] == 'RTX 4090'
    with pytest.raises(ArgumentError, match='known: H200'):
        db.device_entry('abacus')
    flops = dict(per_sample_train=2e12, per_sample_cached=1e12)
    out = db.device_demand(flops, 'H100')
    lo, hi = db.UTILISATION
    assert out['train'] == pytest.approx([lo * 989 / 2, hi * 989 / 2])
    assert out['cached'] == pytest.approx([lo * 989, hi * 989])
    assert db.device_demand(flops, 'A100', 'fp32')['cached'] == pytest.approx([lo * 156,
                                                                               hi * 156])


def test_cache_bytes_per_sample_paper_size():
    # 476 x 644, DINOv2-L: 613,088 B relative depth + 34 x 46 x 1024 x 2 B tokens = 3.82 MB
    assert db.cache_bytes_per_sample(dict(image=1024), (476, 644)) == 3_816_160
    assert db.cache_bytes_per_sample(dict(image=1024), (476, 644), dtype='int8') == (
        613_088 + 34 * 46 * 1024 + 34 * 46 * 4)


def test_read_rate_and_the_check(tmp_path):
    path = tmp_path / 'x.bin'
    path.write_bytes(os.urandom(1 << 16))
    r = db.read_rate([str(path)], chunk=4096, reads=10)
    assert r['reads'] == 10 and r['bytes_per_s'] > 0 and r['chunk'] == 4096
    memory = dict(total=8 << 30, available=4 << 30)
    slow = dict(bytes_per_s=100 << 20)
    # 4 MiB per sample x 600 samples/s = 2400 MiB/s against 100 MiB/s, 400 GiB vs 4 GiB RAM
    check = db.cache_check(4 << 20, 600.0, slow, 400 << 30, memory)
    assert not check['ok'] and check['needed_bytes_per_s'] == 600 * (4 << 20)
    assert '2400 MiB/s' in check['warning'] and '100 MiB/s' in check['warning']
    assert db.cache_check(4 << 20, 600.0, slow, 1 << 30, memory)['ok']  # fits in RAM
    assert db.cache_check(4 << 20, 10.0, slow, 400 << 30, memory)['ok']  # 40 MiB/s needed
    unknown = db.cache_check(4 << 20, 600.0, slow, None, memory)
    assert unknown['fits_in_ram'] is None and '--cache-samples' in unknown['warning']
    assert db.scratch_read_rate(str(tmp_path), 4096, size=2 << 20, reads=4)['reads'] == 4
    assert list(tmp_path.iterdir()) == [path]  # the scratch file is removed


def test_section_on_the_tiny_model(tiny_config, rgbd_real, monkeypatch, tmp_path):
    from tr2m.analysis.benchmark import BenchmarkOptions, run_benchmark
    from tr2m.analysis.benchmark_report import format_report

    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    opts = BenchmarkOptions(batch_size=2, repeats=1, warmup=0, device='cpu', sections=['data'],
                            data_manifest=str(rgbd_real / 'manifest.json'), data_samples=4,
                            data_device='RTX 4090', cache_samples=10)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        r = run_benchmark(str(tiny_config), opts)
    d = r['data']
    assert d['pipeline']['samples'] == 4 and d['pipeline']['samples_per_s_per_worker'] > 0
    f = d['flops']
    assert f['train'] > f['cached'] > 0 and f['frozen'] > 0
    assert f['cached'] == f['train'] - f['frozen'] and f['per_sample_train'] == f['train'] / 2
    assert d['device']['device'] == 'RTX 4090' and len(d['device']['cached']) == 2
    assert d['workers_needed']['cached'][0] == -(-d['device']['cached'][0]
                                                // d['pipeline']['samples_per_s_per_worker'])
    c = d['cache']
    assert c['bytes'] == c['bytes_per_sample'] * 10 and c['fits_in_ram'] and c['ok']
    text = format_report(r)
    assert 'one worker:' in text and 'RTX 4090' in text and 'MiB per sample' in text
