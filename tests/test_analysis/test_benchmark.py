"""tr2m/analysis/benchmark.py: inputs, network-input shapes, and the cache of synthetic
batches read back by a cache-mode model (the whole run: tests/test_tools/test_benchmark.py)."""
import torch

from tr2m.analysis.benchmark import (
    Bench,
    BenchmarkOptions,
    attach_cached,
    clear_cached,
    make_batch,
    pipeline_shape,
    ratios,
    write_batch_cache,
)


def test_captions_differ_every_step():
    a, b = make_batch(2, (14, 14), step=0), make_batch(2, (14, 14), step=1)
    captions = [s.caption for s in a['data_samples'] + b['data_samples']]
    assert len(set(captions)) == 4
    again = make_batch(2, (14, 14), step=0)
    assert torch.equal(again['inputs'][1], a['inputs'][1])  # seeded by the step


def test_input_shape_from_pipelines():
    from tr2m.utils import register_all_modules

    register_all_modules()
    assert pipeline_shape([dict(type='LoadRGBImage'),
                           dict(type='Resize', scale=(480, 640), size_divisor=14)]) == (476, 644)
    assert pipeline_shape([dict(type='Resize', scale=(480, 640)),
                           dict(type='RandomCrop', crop_size=(416, 544))]) == (416, 544)
    assert pipeline_shape([dict(type='KBCrop'), dict(
        type='Resize', scale=(352, 1216), keep_ratio=True, size_divisor=14)]) == (350, 1218)
    assert pipeline_shape([dict(type='LoadRGBImage')]) is None


def test_ratios_of_missing_sections_are_none():
    r = ratios(dict(cache=dict(speedup=2.0, speedup_cpu=3.0), amp=dict(train=dict(speedup=1.5))))
    assert r['cache_speedup'] == 2.0 and r['amp_speedup'] == 1.5
    assert r['soc_speedup'] is None and r['amp_speedup_cached'] is None


def test_batch_cache_read_back_equals_the_frozen_outputs(tiny_config, tmp_path, monkeypatch):
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    register_all_modules()
    bench = Bench(load_config(str(tiny_config)), BenchmarkOptions(batch_size=2, repeats=1,
                                                                  warmup=0), 'cpu')
    model = bench.build().eval()
    from tr2m.cache import LoadCachedFeatures

    loader = LoadCachedFeatures(write_batch_cache(model, bench.batches, str(tmp_path), 'float16',
                                                  False))
    cached = bench.build(cache_root=str(tmp_path)).eval()
    batch = attach_cached(bench.batches[0], loader)
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        rel, img, text = model.frozen_features(data['inputs'], data['data_samples'])
        crel, cimg, ctext = cached.frozen_features(data['inputs'], data['data_samples'])
    assert torch.equal(crel, rel.half().float()) and torch.equal(cimg, img.half().float())
    assert torch.equal(ctext.pooled, text.pooled.half().float())
    clear_cached(batch)
    assert not any('img_feats' in s or 'rel_depth' in s for s in batch['data_samples'])
