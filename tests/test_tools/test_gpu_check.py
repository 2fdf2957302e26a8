"""``tools/analysis_tools/gpu_check.py``: ``--dry-run`` runs the whole check on CPU at tiny
sizes (every figure present, the JSON written); on a GPU (``-m gpu``) the real check."""
import json

import pytest
import torch


def test_dry_run_on_cpu(load_tool, tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    tool = load_tool('tools/analysis_tools/gpu_check.py')
    out = tmp_path / 'check.json'
    r = tool.main([str(tiny_config), '--dry-run', '--out', str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(r))
    assert r['dry_run'] is True and r['device'] == 'cpu' and r['steps'] == 1
    assert r['sizes']['train_batch'] == 2 and r['sizes']['budget_gib'] == 24.0
    from tr2m.utils.hardware import describe_device

    assert r['hardware'] == describe_device('cpu')
    assert [(t['precision'], t['cached']) for t in r['train']] == [
        ('fp32', False), ('fp32', True), ('bf16', False), ('bf16', True)]
    for t in r['train']:
        assert t['step_ms'] > 0 and t['images_per_s'] == pytest.approx(2e3 / t['step_ms'])
        assert t['peak_gib'] is None  # CUDA only
    assert [i['precision'] for i in r['infer']] == ['fp32', 'bf16']
    for rel, whole in zip(r['relative_only'], r['infer']):
        assert rel['whole_vs_relative'] == pytest.approx(whole['ms'] / rel['ms'])
    assert r['trainable_params'] > 0 and r['frozen_weights_gib'] > 0


def test_cached_steps_do_not_run_the_frozen_models(tiny_config, monkeypatch):
    """A cached run reads the stored outputs: the frozen image models run only while the
    store is filled (once per batch), not in the steps."""
    from tr2m.analysis.benchmark import Bench, BenchmarkOptions
    from tr2m.analysis.gpu_check import train_check
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    register_all_modules()
    bench = Bench(load_config(str(tiny_config)), BenchmarkOptions(
        batch_size=2, shape=(28, 42), repeats=2, warmup=1), 'cpu')
    model = bench.build()
    model.text_encoder.precompute(bench.captions)
    calls = []
    model.image_encoder.register_forward_hook(lambda *a: calls.append(1))
    r = train_check(bench, model, 'fp32', True, 2, 1, 24.0, 0.0)
    assert len(calls) == 3 and r['cached'] is True  # 3 batches stored, none run in the steps
    calls.clear()
    train_check(bench, model, 'fp32', False, 2, 1, 24.0, 0.0)
    assert len(calls) == 3  # uncached: every step runs the encoder


@pytest.mark.gpu
def test_gpu_check_on_cuda(load_tool, tmp_path, monkeypatch):
    if not torch.cuda.is_available():
        pytest.fail('the gpu marker needs a CUDA device')
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    tool = load_tool('tools/analysis_tools/gpu_check.py')
    r = tool.main(['--steps', '2', '--warmup', '1', '--out', str(tmp_path / 'c.json')])
    assert all(t['peak_gib'] > 0 for t in r['train']) and r['seconds'] < 480
