"""Configs against each other in one process: inference (and the relative-depth model alone) and
a training step, interleaved call by call (``tools/analysis_tools/compare_speed.py`` is the CLI).

Built for the shared-token variant against the paper config (docs/user_guides/speed.md,
"Shared tokens"), it takes any TR2M-like configs: every model is built from the same seed with
random weights (``TR2M_RANDOM_INIT=1`` unless set), captions are precomputed once (what
``CaptionEmbeddingHook`` does), and each figure is the median of ``rounds`` interleaved calls
after ``warmup`` untimed ones (:func:`tr2m.analysis.timing.interleaved`), wall and CPU time.
"""
import os
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import torch

from tr2m.analysis import timing


def _name(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def compare_speed(configs: Sequence[str], infer_shape: Tuple[int, int] = (518, 518),
                  train_shape: Tuple[int, int] = (266, 350), batch_size: int = 2,
                  rounds: int = 3, warmup: int = 1, device: str = 'cpu',
                  sections: Sequence[str] = ('infer', 'train'),
                  threads: Optional[int] = None) -> dict:
    """Timings of ``configs`` side by side; JSON-ready.

    Returns ``{configs device threads infer_shape train_shape batch_size rounds warmup
    params {name: n} trainable {name: n}}`` plus, per section: ``infer {name | 'relative':
    {wall_ms cpu_ms ...}} infer_vs_relative_cpu {name: ratio}`` (``'relative'`` is the first
    config's relative-depth model alone on the same images; inference at batch 1) and ``train
    {name: {...}} train_vs_first_cpu {name: ratio}`` (CPU time of the first config's step over
    each one's).
    """
    from tr2m.analysis.benchmark import Bench, BenchmarkOptions, make_batch
    from tr2m.models.pretrained import RANDOM_INIT_ENV
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    os.environ.setdefault(RANDOM_INIT_ENV, '1')
    if threads:
        torch.set_num_threads(threads)
    register_all_modules()
    names = [_name(c) for c in configs]
    if len(set(names)) != len(names):
        names = [f'{i}:{n}' for i, n in enumerate(names)]
    out = OrderedDict(configs=list(configs), device=device, threads=torch.get_num_threads(),
                      infer_shape=list(infer_shape), train_shape=list(train_shape),
                      batch_size=batch_size, rounds=rounds, warmup=warmup)
    params, trainable = OrderedDict(), OrderedDict()
    if 'infer' in sections:
        opts = BenchmarkOptions(batch_size=1, shape=tuple(infer_shape), repeats=1, warmup=0)
        models = OrderedDict((n, Bench(load_config(c), opts, device).build().eval())
                             for n, c in zip(names, configs))
        test = [make_batch(1, tuple(infer_shape), 10_000 + i) for i in range(warmup + rounds)]
        captions = [s.caption for b in test for s in b['data_samples']]
        fns = OrderedDict()
        first = next(iter(models.values()))

        def relative(i):
            data = first.data_preprocessor(test[i], False)
            with torch.no_grad():
                first.relative_depth(data['inputs'], data['data_samples'])
        fns['relative'] = relative
        for n, m in models.items():
            if getattr(m, 'text_encoder', None) is not None:
                m.text_encoder.precompute(captions)
            params[n] = sum(p.numel() for p in m.parameters())
            trainable[n] = sum(p.numel() for p in m.parameters() if p.requires_grad)

            def infer(i, m=m):
                with torch.no_grad():
                    m.test_step(test[i])
            fns[n] = infer
        t = timing.interleaved(fns, rounds, warmup, device)
        out['infer'] = t
        out['infer_vs_relative_cpu'] = OrderedDict(
            (n, t[n]['cpu_ms'] / t['relative']['cpu_ms']) for n in names)
        del models, fns
    if 'train' in sections:
        opts = BenchmarkOptions(batch_size=batch_size, shape=tuple(train_shape), repeats=rounds,
                                warmup=warmup)
        fns = OrderedDict()
        for n, c in zip(names, configs):
            bench = Bench(load_config(c), opts, device)
            m = bench.build().train()
            if getattr(m, 'text_encoder', None) is not None:
                m.text_encoder.precompute(bench.captions)
            params.setdefault(n, sum(p.numel() for p in m.parameters()))
            trainable.setdefault(n, sum(p.numel() for p in m.parameters() if p.requires_grad))
            fns[n] = bench.train_steps(m, bench.optimizer(m), {})
        t = timing.interleaved(fns, rounds, warmup, device)
        for phase in t.values():
            timing.with_rate(phase, batch_size)
        out['train'] = t
        out['train_vs_first_cpu'] = OrderedDict(
            (n, t[names[0]]['cpu_ms'] / t[n]['cpu_ms']) for n in names)
    out['params'], out['trainable'] = params, trainable
    return out


def format_speed(r: dict) -> str:
    """The human-readable table of :func:`compare_speed`."""
    lines = [f"{r['device']}, {r['threads']} threads, median of {r['rounds']} interleaved "
             f"calls after {r['warmup']} warm-up"]
    if 'infer' in r:
        lines.append(f"inference at {tuple(r['infer_shape'])}, batch 1:")
        for n, p in r['infer'].items():
            ratio = r['infer_vs_relative_cpu'].get(n)
            lines.append(f"  {n:<32} {p['wall_ms']:10.1f} ms wall {p['cpu_ms']:10.1f} ms CPU"
                         + (f"  {ratio:.2f}x the relative model (CPU)" if ratio else ''))
    if 'train' in r:
        lines.append(f"training step at {tuple(r['train_shape'])}, batch {r['batch_size']}:")
        for n, p in r['train'].items():
            lines.append(f"  {n:<32} {p['wall_ms']:10.1f} ms wall {p['cpu_ms']:10.1f} ms CPU"
                         f"  {r['train_vs_first_cpu'][n]:.2f}x faster than the first (CPU)")
    for n in r['params']:
        lines.append(f"  {n}: {r['params'][n] / 1e6:.1f}M parameters, "
                     f"{r['trainable'][n] / 1e6:.2f}M trainable")
    return '\n'.join(lines)


__all__ = ['compare_speed', 'format_speed']
