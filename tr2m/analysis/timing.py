"""Timing and comparison helpers of the benchmarks (``tr2m.analysis.benchmark``).

Every figure is the median over ``repeats`` timed calls after ``warmup`` untimed ones, as wall
time (``time.perf_counter``, CUDA synchronised) and process CPU time (``time.process_time``:
all threads of the process).
"""
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch


# ---- timing ------------------------------------------------------------------------------------
def sync(device) -> None:
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def timed(fn: Callable[[int], None], repeats: int, warmup: int, device) -> dict:
    """Median wall and CPU ms of ``fn(call_index)`` over ``repeats`` calls after ``warmup``."""
    for i in range(warmup):
        fn(i)
    sync(device)
    walls, cpus = [], []
    for i in range(warmup, warmup + repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn(i)
        sync(device)
        walls.append((time.perf_counter() - t0) * 1e3)
        cpus.append((time.process_time() - c0) * 1e3)
    return dict(wall_ms=statistics.median(walls), cpu_ms=statistics.median(cpus),
                wall_ms_all=walls, cpu_ms_all=cpus, repeats=repeats, warmup=warmup)


def interleaved(fns: Dict[str, Callable[[int], None]], repeats: int, warmup: int,
                device) -> Dict[str, dict]:
    """:func:`timed` for several functions whose ratios matter, run in turn within each
    repeat (``a(0) b(0) a(1) b(1) ...``), so a load change on a shared machine hits them alike.
    On CUDA each gets ``peak_mem_mib`` (the allocator's peak during its calls)."""
    cuda = str(device).startswith('cuda')
    walls = {n: [] for n in fns}
    cpus = {n: [] for n in fns}
    peaks = {n: 0.0 for n in fns}
    for i in range(warmup + repeats):
        for name, fn in fns.items():
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            sync(device)
            c0, t0 = time.process_time(), time.perf_counter()
            fn(i)
            sync(device)
            if i >= warmup:
                walls[name].append((time.perf_counter() - t0) * 1e3)
                cpus[name].append((time.process_time() - c0) * 1e3)
            if cuda:
                peaks[name] = max(peaks[name], torch.cuda.max_memory_allocated() / 2**20)
    out = {}
    for name in fns:
        out[name] = dict(wall_ms=statistics.median(walls[name]),
                         cpu_ms=statistics.median(cpus[name]), wall_ms_all=walls[name],
                         cpu_ms_all=cpus[name], repeats=repeats, warmup=warmup)
        if cuda:
            out[name]['peak_mem_mib'] = peaks[name]
    return out


def with_rate(phase: dict, batch: int) -> dict:
    phase['images_per_s'] = batch * 1e3 / phase['wall_ms']
    return phase


class ChildTimer:
    """Forward wall time of every top-level child of a model, per call (CUDA synchronised)."""

    def __init__(self, model, device) -> None:
        self.device = device
        self.names = [n for n, _ in model.named_children()]
        self.current: Dict[str, float] = {n: 0.0 for n in self.names}
        self.per_call: List[Dict[str, float]] = []
        self._start: Dict[str, float] = {}
        self._handles = []
        for name, child in model.named_children():
            self._handles.append(child.register_forward_pre_hook(self._pre(name)))
            self._handles.append(child.register_forward_hook(self._post(name)))

    def _pre(self, name):
        def hook(module, args):
            sync(self.device)
            self._start[name] = time.perf_counter()
        return hook

    def _post(self, name):
        def hook(module, args, output):
            sync(self.device)
            self.current[name] += (time.perf_counter() - self._start.pop(name)) * 1e3
        return hook

    def next_call(self) -> None:
        self.per_call.append(self.current)
        self.current = {n: 0.0 for n in self.names}

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


def momentum_update(model) -> None:
    """What ``SOCMomentumHook`` does after an optimizer step: the EMA update of every
    momentum component of the model."""
    from tr2m.models.contrast import momentum_components

    for component in momentum_components(model):
        component.momentum_update()


def trainable_state(model) -> Dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in model.named_parameters() if p.requires_grad}


# ---- equality of two runs ---------------------------------------------------------------
class GradCapture:
    """Copies of the gradients at the first optimizer step (a step pre-hook)."""

    def __init__(self, model, optim_wrapper) -> None:
        self.params = {k: p for k, p in model.named_parameters() if p.requires_grad}
        self.grads: Optional[Dict[str, torch.Tensor]] = None
        self._handle = optim_wrapper.optimizer.register_step_pre_hook(self._hook)

    def _hook(self, optimizer, args, kwargs) -> None:
        if self.grads is None:
            self.grads = {k: p.grad.detach().clone() for k, p in self.params.items()
                          if p.grad is not None}
        self._handle.remove()


def grads_rel_diff(ref: Dict[str, torch.Tensor], other: Dict[str, torch.Tensor]) -> float:
    """``||g - g'|| / ||g||`` over all parameters."""
    num = sum(float((ref[k] - other[k]).double().pow(2).sum()) for k in ref)
    den = sum(float(ref[k].double().pow(2).sum()) for k in ref)
    return (num / den) ** 0.5 if den else 0.0


def absolute_difference(a: Dict[str, float], b: Dict[str, float]) -> Dict[str, float]:
    """``|a - b|`` per loss key of ``a``."""
    return {k: abs(v - b[k]) for k, v in a.items() if 'loss' in k and k in b}


def relative_difference(a: Dict[str, float], b: Dict[str, float]) -> Dict[str, float]:
    """``|a - b| / |a|`` per loss key of ``a`` (``inf`` when ``a`` is 0 and ``b`` is not)."""
    out = {}
    for key, va in a.items():
        if 'loss' in key and key in b:
            diff = abs(va - b[key])
            out[key] = 0.0 if diff == 0 else diff / abs(va) if va else float('inf')
    return out


def weights_difference(ref_init: Dict[str, torch.Tensor], ref: Dict[str, torch.Tensor],
                       other_init: Dict[str, torch.Tensor],
                       other: Dict[str, torch.Tensor]) -> dict:
    """Max |w - w'| after training, and ``||dw - dw'|| / ||dw||`` of the updates."""
    max_abs = max(float((ref[k] - other[k]).abs().max()) for k in ref)
    init_abs = max(float((ref_init[k] - other_init[k]).abs().max()) for k in ref)
    num = sum(float(((ref[k] - ref_init[k]) - (other[k] - other_init[k])).pow(2).sum())
              for k in ref)
    den = sum(float((ref[k] - ref_init[k]).pow(2).sum()) for k in ref)
    return dict(max_abs_diff=max_abs, init_max_abs_diff=init_abs,
                update_rel_diff=(num / den) ** 0.5 if den else 0.0)


def optional(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:.3g}'
