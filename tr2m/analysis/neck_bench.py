"""The cached training step at several input sizes, per neck attention implementation:
time and peak memory of the step and of the neck alone (``tools/analysis_tools/neck_benchmark.py``
is the CLI).

A cached step is a training step whose frozen outputs (``Dr``, image tokens, caption embeddings) are
read, not computed: here they are held in memory (random tokens of the image encoder's width on its
token grid, ``Dr`` in (0.1, 1.1)), which is what a feature-cache read hands the model. One fresh
subprocess builds the model once and runs every (size, implementation) in turn (the implementation
is a switch of the neck and its SOC momentum copy, not a weight); peak memory is that of one
configuration: the peak-RSS counter (``VmHWM``) is reset through ``/proc/self/clear_refs`` after
each configuration's warm-up step (weights and AdamW state exist), glibc's mmap threshold is fixed
at 64 KiB so freed blocks leave RSS, and the peak is the increase over the resident memory before
the measured steps. The neck alone is one forward + backward of ``model.neck`` on the same tokens,
measured the same way after the steps.
"""
import json
import os
import statistics
import subprocess
import sys
import time
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import torch

from tr2m.analysis.soc_reference import _hwm_kib

#: Fixed glibc mmap threshold of the children (see the module docstring).
MMAP_THRESHOLD = '65536'


def _reset_hwm() -> int:
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    return _hwm_kib()


def _rss_kib() -> int:
    import re

    return int(re.search(r'VmRSS:\s+(\d+)', open('/proc/self/status').read()).group(1))


def _increase_mib(base_kib: int) -> float:
    """Peak RSS increase over ``base_kib`` in MiB, never below 0: the kernel folds the
    resident size into ``VmHWM`` lazily (when pages are unmapped), so a step that holds on to no
    new memory can read a page or so below the resident size taken as its base (seen in CI:
    -4 KiB)."""
    return max(0.0, (_hwm_kib() - base_kib) / 1024)


def _set_attention(model, attention: str) -> None:
    """Switch every ``CrossModalAttentionNeck`` of ``model`` (the neck and its SOC momentum
    copy) to ``attention``; the weights are untouched."""
    for m in model.modules():
        if hasattr(m, 'attention') and hasattr(m, 'modalities'):
            m.attention = attention


def cached_step_child(config: str, shapes: Sequence[Sequence[int]], batch: int,
                      attentions: Sequence[str], steps: int, threads: int = 1):
    """In a fresh process: for every shape and attention form, ``steps`` cached training steps
    (after one warm-up) of ``config``'s model; prints one JSON row per configuration as it
    completes (CPU / wall ms per step, neck forward ms, peak RSS increase in MiB of the steps
    and of the neck alone). One model serves every configuration (the attention form is a
    switch of the neck, not a weight)."""
    from tr2m.analysis import timing
    from tr2m.analysis.benchmark import Bench, BenchmarkOptions
    from tr2m.models.layers.image_ops import fit_size
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    os.environ.setdefault('TR2M_RANDOM_INIT', '1')
    torch.set_num_threads(threads)
    register_all_modules()
    cfg = load_config(config)
    opts = BenchmarkOptions(batch_size=batch, repeats=steps, warmup=1)
    model = Bench(cfg, opts, 'cpu').build().train()
    enc = model.image_encoder
    original = model.frozen_image_features
    optim = None
    for shape in shapes:
        bench = Bench(cfg, BenchmarkOptions(batch_size=batch, shape=tuple(shape),
                                            repeats=steps, warmup=1), 'cpu')
        h, w = bench.shape
        gh, gw = (s // enc.patch_size for s in fit_size(h, w, enc.patch_size, enc.input_size))
        gen = torch.Generator().manual_seed(0)
        tokens = torch.randn(batch, enc.out_channels, gh, gw, generator=gen)
        rel = torch.rand(batch, 1, h, w, generator=gen) + 0.1
        model.frozen_image_features = (  # a cache read
            lambda inputs, samples, r=rel, t=tokens: (r, t))
        if getattr(model, 'text_encoder', None) is not None:
            model.text_encoder.precompute(bench.captions)
        optim = optim or bench.optimizer(model)
        for attention in attentions:
            _set_attention(model, attention)
            timer = timing.ChildTimer(model, 'cpu')

            def step(i, b=bench, o=optim, tm=timer):
                model.train_step(b.batches[i], o)
                timing.momentum_update(model)
                tm.next_call()

            step(0)
            base, cpus, walls = _reset_hwm(), [], []
            base = max(base, _rss_kib())
            for i in range(1, steps + 1):
                c0, t0 = time.process_time(), time.perf_counter()
                step(i)
                cpus.append((time.process_time() - c0) * 1e3)
                walls.append((time.perf_counter() - t0) * 1e3)
            step_peak = _increase_mib(base)
            timer.remove()
            neck_ms = statistics.median(c['neck'] for c in timer.per_call[1:])
            # the neck alone: forward + backward on the same tokens
            text = model.text_encoder(model.captions(bench.batches[0]['data_samples'])) \
                if getattr(model, 'text_encoder', None) is not None else None
            x = tokens.clone().requires_grad_()
            model.neck(x, text).sum().backward()  # warm-up
            model.zero_grad(set_to_none=True)
            x.grad = None
            base = max(_reset_hwm(), _rss_kib())
            c0 = time.process_time()
            model.neck(x, text).sum().backward()
            neck_fb_ms = (time.process_time() - c0) * 1e3
            neck_peak = _increase_mib(base)
            model.zero_grad(set_to_none=True)
            print(json.dumps(dict(
                shape=[h, w], tokens=gh * gw, batch=batch, attention=attention,
                step_cpu_ms=statistics.median(cpus), step_wall_ms=statistics.median(walls),
                step_cpu_ms_all=cpus, step_peak_mib=step_peak, neck_forward_ms=neck_ms,
                neck_fwd_bwd_cpu_ms=neck_fb_ms, neck_peak_mib=neck_peak)), flush=True)
    model.frozen_image_features = original


def run_child(config: str, shapes: Sequence[Sequence[int]], batch: int,
              attentions: Sequence[str], steps: int, threads: int = 1, log=None) -> list:
    """:func:`cached_step_child` in a fresh subprocess; its rows (each also written to
    ``log`` as it arrives)."""
    code = ('from tr2m.analysis.neck_bench import cached_step_child; '
            f'cached_step_child({config!r}, {[list(s) for s in shapes]}, {batch}, '
            f'{list(attentions)!r}, {steps}, {threads})')
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get('PYTHONPATH', ''),
               MALLOC_MMAP_THRESHOLD_=MMAP_THRESHOLD)
    proc = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    rows = []
    for line in proc.stdout:
        if line.startswith('{'):
            rows.append(json.loads(line))
            if log is not None:
                print(line.strip(), file=log, flush=True)
    err = proc.stderr.read()
    if proc.wait():
        raise RuntimeError(f'neck benchmark child failed:\n{err[-3000:]}')
    return rows


def neck_benchmark(config: str, shapes: Sequence[Tuple[int, int]], batch: int = 2,
                   attentions: Sequence[str] = ('explicit', 'sdpa'), steps: int = 2,
                   threads: int = 1, rounds: int = 1, log=None) -> dict:
    """Every (shape, attention) in one fresh subprocess per round, ``rounds`` rounds (medians
    over them); growth of each figure from the first shape to the last against the pixel
    count. ``log``: a file that gets each row as it is measured."""
    runs = OrderedDict()
    for _ in range(rounds):
        for row in run_child(config, shapes, batch, attentions, steps, threads, log):
            runs.setdefault(f"{row['attention']}@{row['shape'][0]}x{row['shape'][1]}",
                            []).append(row)
    table = OrderedDict()
    for key, rs in runs.items():
        row = dict(rs[0])
        for k in ('step_cpu_ms', 'step_wall_ms', 'step_peak_mib', 'neck_forward_ms',
                  'neck_fwd_bwd_cpu_ms', 'neck_peak_mib'):
            row[k] = statistics.median(x[k] for x in rs)
            row[k + '_rounds'] = [x[k] for x in rs]
        table[key] = row
    (h0, w0), (h1, w1) = shapes[0], shapes[-1]
    growth = OrderedDict(pixels=h1 * w1 / (h0 * w0))
    for att in attentions:
        a, b = table[f'{att}@{h0}x{w0}'], table[f'{att}@{h1}x{w1}']
        growth[att] = {k: b[k] / a[k] if a[k] else None for k in (
            'step_cpu_ms', 'step_peak_mib', 'neck_forward_ms', 'neck_fwd_bwd_cpu_ms',
            'neck_peak_mib')}
    return dict(config=config, batch=batch, steps=steps, threads=threads, rounds=rounds,
                runs=table, growth=growth)


def format_neck_report(r: dict, hardware: Optional[str] = None) -> str:
    lines = [f"{r['config']}: cached training step, batch {r['batch']}, median of "
             f"{r['steps']} steps x {r['rounds']} round(s), {r['threads']} thread(s)"]
    if hardware:
        lines.append(f'hardware: {hardware}')
    lines.append(f"{'run':<22}{'tokens':>7}{'step CPU ms':>13}{'step peak MiB':>15}"
                 f"{'neck fwd ms':>13}{'neck f+b ms':>13}{'neck peak MiB':>15}")
    for key, x in r['runs'].items():
        lines.append(f"{key:<22}{x['tokens']:>7}{x['step_cpu_ms']:>13.0f}"
                     f"{x['step_peak_mib']:>15.0f}{x['neck_forward_ms']:>13.0f}"
                     f"{x['neck_fwd_bwd_cpu_ms']:>13.0f}{x['neck_peak_mib']:>15.0f}")
    g = r['growth']
    lines.append(f"growth first -> last size (pixels x{g['pixels']:.2f}):")
    for att, v in g.items():
        if att != 'pixels':
            lines.append(f'  {att}: ' + ', '.join(
                f'{k} x{x:.2f}' for k, x in v.items() if x is not None))
    return '\n'.join(lines)


__all__ = ['cached_step_child', 'run_child', 'neck_benchmark', 'format_neck_report']

