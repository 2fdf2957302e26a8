"""The GPU check: what the paper config costs on one GPU, in one call of a few minutes
(``tools/analysis_tools/gpu_check.py`` is the CLI).

Measured, in this order, on one model (random weights unless ``pretrained``):

1. training steps at ``train_batch`` x ``train_shape`` (paper: 8 x 476x644), float32 and
   bfloat16 autocast (``AutocastOptimWrapper``, what ``tools/train.py --amp`` uses), each
   uncached (frozen models run) and cached (the frozen outputs of each batch computed once
   beforehand, stored in float16 on the device and read back, as a feature-cache read gives
   them): median step time, images/s, peak memory (``torch.cuda.max_memory_allocated``), and
   the peak against ``budget_gib`` (the paper's RTX 4090: 24 GiB). A cached run keeps the
   frozen models' weights resident here; ``peak_without_frozen_gib`` subtracts them (a
   cache-mode run does not build them).
2. inference (``test_step``) at ``infer_shape`` (518x518), float32 and bfloat16, and the
   relative-depth model alone at the same size (the ratio is what the neck, heads and the
   second ViT add).

``dry_run=True`` runs the same code on CPU at tiny sizes with one step (a test runs it).
Every configuration gets its own optimizer (the previous one freed) so peaks do not include
another run's AdamW state.
"""
import gc
import statistics
import time
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import torch

from tr2m.analysis import timing
from tr2m.utils.hardware import describe_device

#: Paper sizes (NYUv2 training crop, 518 inference) and the paper's card (RTX 4090).
PAPER = dict(train_batch=8, train_shape=(476, 644), infer_shape=(518, 518), budget_gib=24.0)
#: Tiny sizes of ``dry_run``.
DRY = dict(train_batch=2, train_shape=(56, 70), infer_shape=(56, 56), budget_gib=24.0)
GIB = 2 ** 30


def _peak_reset(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _peak(device: str) -> Optional[float]:
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / GIB
    return None


def _free(device: str) -> None:
    gc.collect()
    if device.startswith('cuda'):
        torch.cuda.empty_cache()


def _timed_calls(fn, n: int, warmup: int, device: str) -> dict:
    for i in range(warmup):
        fn(i)
    walls = []
    for i in range(warmup, warmup + n):
        timing.sync(device)
        t0 = time.perf_counter()
        fn(i)
        timing.sync(device)
        walls.append((time.perf_counter() - t0) * 1e3)
    return dict(ms=statistics.median(walls), ms_all=walls)


def cached_frozen(model, batches: Sequence[dict]) -> list:
    """The frozen image outputs (``Dr``, tokens) of every batch, computed once, kept on the
    model's device in float16 (a cache's storage format)."""
    out = []
    with torch.no_grad():
        for b in batches:
            data = model.data_preprocessor(b, True)
            rel, tokens = model.frozen_image_features(data['inputs'], data['data_samples'])
            out.append((rel.half(), tokens.half()))
    return out


def train_check(bench, model, precision: str, cached: bool, steps: int, warmup: int,
                budget_gib: float, frozen_gib: float) -> dict:
    """Median step time and peak memory of ``warmup + steps`` training steps."""
    device = bench.device
    original = model.frozen_image_features
    if cached:
        store = cached_frozen(model, bench.batches)
        current = {'i': 0}
        model.frozen_image_features = lambda inputs, samples: tuple(
            t.float() for t in store[current['i']])
    optim = bench.optimizer(model, amp=precision == 'bf16')
    step = bench.train_steps(model, optim, {})

    def call(i):
        if cached:
            current['i'] = i
        step(i)

    _peak_reset(device)
    try:
        t = _timed_calls(call, steps, warmup, device)
    finally:
        model.frozen_image_features = original
    peak = _peak(device)
    out = dict(precision=precision, cached=cached, step_ms=t['ms'], step_ms_all=t['ms_all'],
               images_per_s=bench.batch * 1e3 / t['ms'], peak_gib=peak)
    if peak is not None:
        out['peak_without_frozen_gib'] = peak - frozen_gib if cached else peak
        out['fits_budget'] = out['peak_without_frozen_gib'] < budget_gib
    optim.optimizer.state.clear()  # free this run's AdamW state before the next run
    if cached:
        store.clear()
    model.zero_grad(set_to_none=True)
    _free(device)
    return out


def infer_check(model, shape: Tuple[int, int], precision: str, steps: int, warmup: int,
                device: str) -> dict:
    """Median ``test_step`` time (batch 1) and its peak memory."""
    from tr2m.analysis.benchmark import make_batch

    model.eval()
    batches = [make_batch(1, shape, 20_000 + i) for i in range(warmup + steps)]

    def call(i):
        with torch.no_grad(), torch.autocast(torch.device(device).type, dtype=torch.bfloat16,
                                             enabled=precision == 'bf16'):
            model.test_step(batches[i])

    _peak_reset(device)
    t = _timed_calls(call, steps, warmup, device)
    model.train()
    return dict(precision=precision, ms=t['ms'], ms_all=t['ms_all'], peak_gib=_peak(device))


def relative_only_check(model, shape: Tuple[int, int], precision: str, steps: int,
                        warmup: int, device: str) -> Optional[dict]:
    """The relative-depth model's forward alone (batch 1), for the ratio to the whole."""
    from tr2m.analysis.benchmark import make_batch

    rel = getattr(model, 'relative_depth', None)
    if rel is None:
        return None
    data = model.data_preprocessor(make_batch(1, shape, 30_000), False)

    def call(i):
        with torch.no_grad(), torch.autocast(torch.device(device).type, dtype=torch.bfloat16,
                                             enabled=precision == 'bf16'):
            rel(data['inputs'], data['data_samples'])

    t = _timed_calls(call, steps, warmup, device)
    return dict(precision=precision, ms=t['ms'], ms_all=t['ms_all'])


def gpu_check(config: str, dry_run: bool = False, steps: int = 5, warmup: int = 2,
              device: Optional[str] = None, pretrained: bool = False,
              sizes: Optional[dict] = None) -> dict:
    """Run every check of the module docstring; returns the JSON result."""
    import os

    from tr2m.analysis.benchmark import Bench, BenchmarkOptions
    from tr2m.models.pretrained import RANDOM_INIT_ENV
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config
    from tr2m.utils.errors import ArgumentError

    if not pretrained:
        os.environ.setdefault(RANDOM_INIT_ENV, '1')
    size = dict(DRY if dry_run else PAPER, **(sizes or {}))
    if dry_run:
        device, steps, warmup = device or 'cpu', 1, 1
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise ArgumentError('gpu_check: no CUDA device (use --dry-run to try it on CPU)')
    t_start = time.perf_counter()
    register_all_modules()
    cfg = load_config(config)
    bench = Bench(cfg, BenchmarkOptions(batch_size=size['train_batch'],
                                        shape=tuple(size['train_shape']), repeats=steps,
                                        warmup=warmup), device)
    model = bench.build()
    if getattr(model, 'text_encoder', None) is not None:
        model.text_encoder.precompute(bench.captions)  # CaptionEmbeddingHook's start-up pass
    frozen_gib = sum(p.numel() * p.element_size() for p in model.parameters()
                     if not p.requires_grad) / GIB
    result = OrderedDict(
        config=config, dry_run=dry_run, device=device, hardware=describe_device(device),
        torch=torch.__version__, steps=steps, warmup=warmup, sizes=dict(
            size, train_shape=list(size['train_shape']),
            infer_shape=list(size['infer_shape'])),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        frozen_weights_gib=frozen_gib, train=[], infer=[], relative_only=[])
    for precision in ('fp32', 'bf16'):
        for cached in (False, True):
            result['train'].append(train_check(bench, model, precision, cached, steps, warmup,
                                               size['budget_gib'], frozen_gib))
    for precision in ('fp32', 'bf16'):
        result['infer'].append(infer_check(model, tuple(size['infer_shape']), precision,
                                           steps, warmup, device))
        rel = relative_only_check(model, tuple(size['infer_shape']), precision, steps, warmup,
                                  device)
        if rel is not None:
            rel['whole_vs_relative'] = result['infer'][-1]['ms'] / rel['ms']
            result['relative_only'].append(rel)
    result['seconds'] = time.perf_counter() - t_start
    return result


def format_gpu_report(r: dict) -> str:
    s = r['sizes']
    lines = [f"{r['config']} ({'dry run' if r['dry_run'] else 'GPU check'}), torch {r['torch']}",
             f"hardware: {r['hardware']}",
             f"training: batch {s['train_batch']} x {tuple(s['train_shape'])}; inference: "
             f"batch 1 x {tuple(s['infer_shape'])}; median of {r['steps']} after "
             f"{r['warmup']} warm-up; {r['trainable_params'] / 1e6:.2f}M trainable, frozen "
             f"weights {r['frozen_weights_gib']:.2f} GiB", '']
    for t in r['train']:
        name = f"train {t['precision']} {'cached' if t['cached'] else 'uncached'}"
        mem = ''
        if t['peak_gib'] is not None:
            mem = (f"  peak {t['peak_gib']:.2f} GiB ({t['peak_without_frozen_gib']:.2f} without "
                   f"frozen weights): {'fits' if t['fits_budget'] else 'EXCEEDS'} "
                   f"{s['budget_gib']:.0f} GiB")
        lines.append(f"{name:<24} {t['step_ms']:9.1f} ms/step {t['images_per_s']:8.1f} img/s"
                     + mem)
    for i in r['infer']:
        mem = f"  peak {i['peak_gib']:.2f} GiB" if i['peak_gib'] is not None else ''
        lines.append(f"{'infer ' + i['precision']:<24} {i['ms']:9.1f} ms/image" + mem)
    for rel in r['relative_only']:
        lines.append(f"{'relative only ' + rel['precision']:<24} {rel['ms']:9.1f} ms/image  "
                     f"(whole model {rel['whole_vs_relative']:.1f}x)")
    lines.append(f"total {r['seconds']:.0f} s")
    return '\n'.join(lines)


__all__ = ['PAPER', 'DRY', 'gpu_check', 'format_gpu_report', 'train_check', 'infer_check',
           'relative_only_check', 'cached_frozen']
