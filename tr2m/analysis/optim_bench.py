"""The optimizer step on a model's trainable parameters: for-loop, foreach and fused AdamW
(``benchmark.py --sections optim``).

Each implementation gets its own copy of the trainable parameters (same values, same random
gradients) and steps ``warmup + repeats`` times; the steps are interleaved
(:func:`~tr2m.analysis.timing.interleaved`). After the last step the weights of the foreach
and fused runs are compared with the for-loop's.
"""
from collections import OrderedDict
from typing import Optional

import torch

from tr2m.analysis import timing

#: Implementations compared, with their ``torch.optim.AdamW`` arguments.
IMPLEMENTATIONS = OrderedDict(
    loop=dict(foreach=False, fused=False),
    foreach=dict(foreach=True, fused=False),
    fused=dict(fused=True),
)


def optimizer_benchmark(model: torch.nn.Module, repeats: int, warmup: int, device: str,
                        optimizer_cfg: Optional[dict] = None) -> dict:
    """Time ``AdamW.step()`` of every :data:`IMPLEMENTATIONS` on copies of the trainable
    parameters of ``model``; ``optimizer_cfg`` gives ``lr``, ``betas``, ``weight_decay``,
    ``eps`` (other keys ignored)."""
    cfg = optimizer_cfg or {}
    hyper = {k: cfg[k] for k in ('lr', 'betas', 'weight_decay', 'eps') if k in cfg}
    hyper['betas'] = tuple(hyper.get('betas', (0.9, 0.999)))
    params = [p.detach() for p in model.parameters() if p.requires_grad]
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(p.shape, generator=gen).mul_(1e-3).to(device) for p in params]
    copies, fns = {}, OrderedDict()
    for name, kw in IMPLEMENTATIONS.items():
        copy = [torch.nn.Parameter(p.clone().to(device)) for p in params]
        for c, g in zip(copy, grads):
            c.grad = g.clone()
        opt = torch.optim.AdamW(copy, **hyper, **kw)
        copies[name] = copy
        fns[name] = lambda i, o=opt: o.step()
    timings = timing.interleaved(fns, repeats, warmup, device)
    out = OrderedDict(num_params=sum(p.numel() for p in params), num_tensors=len(params),
                      hyper=dict(hyper, betas=list(hyper['betas'])))
    for name in IMPLEMENTATIONS:
        out[name] = timings[name]
        if name != 'loop':
            out[name]['max_abs_diff'] = max(float((a - b).detach().abs().max())
                                            for a, b in zip(copies['loop'], copies[name]))
    out['fused_speedup'] = timings['loop']['wall_ms'] / timings['fused']['wall_ms']
    out['fused_speedup_cpu'] = timings['loop']['cpu_ms'] / timings['fused']['cpu_ms']
    out['fused_vs_foreach'] = timings['foreach']['wall_ms'] / timings['fused']['wall_ms']
    return out


__all__ = ['IMPLEMENTATIONS', 'optimizer_benchmark']
