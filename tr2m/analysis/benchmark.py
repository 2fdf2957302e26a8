"""Measurements behind ``tools/analysis_tools/benchmark.py`` (speed, memory, equality).

Every figure is the median over ``repeats`` timed calls after ``warmup`` untimed ones, as wall
time (``time.perf_counter``, CUDA synchronised) and process CPU time (``time.process_time``:
all threads of the process). Each training step gets a batch with captions no step has seen,
so no caption is served from a table that an earlier step filled, unless a phase says it
precomputes them (as ``CaptionEmbeddingHook`` does at the start of training).
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

#: Protocol of the synthetic samples (metres, 1-10 m GT ramp).
METRIC_PROTOCOL = dict(min_depth=1e-3, max_depth=10.0, crop=None, units='m')
_WORDS = ('table chair lamp sofa window door shelf plant bed desk car tree road wall sky tunnel '
          'fold tissue street kitchen bedroom office corridor bridge river').split()


# ---- inputs ------------------------------------------------------------------------------------
def make_batch(batch: int, shape: Tuple[int, int], step: int = 0) -> dict:
    """A collated batch: uint8 images, samples with GT (1-10 m ramp with noise, 90% valid),
    metainfo and a caption that differs for every ``(step, image)``."""
    from mmengine.structures import PixelData

    from tr2m.structures import DepthDataSample

    gen = torch.Generator().manual_seed(1000 + step)
    h, w = shape
    inputs, samples = [], []
    for i in range(batch):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        ramp = torch.linspace(1.0, 10.0, h)[:, None].expand(h, w)
        depth = (ramp * (1 + 0.1 * torch.rand(h, w, generator=gen)))[None]
        valid = torch.rand(1, h, w, generator=gen) > 0.1
        s = DepthDataSample(metainfo=dict(
            img_path=f'benchmark_{step}_{i}.png', ori_shape=(h, w), img_shape=(h, w),
            flip=False, dataset_name='benchmark', sample_idx=step * batch + i,
            protocol=dict(METRIC_PROTOCOL)))
        s.gt_depth = PixelData(data=torch.where(valid, depth, torch.zeros_like(depth)))
        s.gt_valid = PixelData(data=valid)
        words = [_WORDS[int(j)] for j in torch.randint(len(_WORDS), (3,), generator=gen)]
        s.caption = (f'Scene {step}-{i}: a {words[0]} next to a {words[1]}, '
                     f'with a {words[2]} behind.')
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


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
    """What ``SOCMomentumHook`` does after an optimizer step."""
    for module in model.modules():
        update = getattr(module, 'momentum_update', None)
        if callable(update):
            update()


def trainable_state(model) -> Dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in model.named_parameters() if p.requires_grad}


# ---- SOC: class means against the full pairwise cosine matrix ------------------------------
def soc_loss_pairwise(q: torch.Tensor, k: torch.Tensor, q_cls: torch.Tensor,
                      k_cls: torch.Tensor, num_classes: int, negative_reduction: str = 'sum',
                      temperature: float = 1.0) -> torch.Tensor:
    """Eq. 8 from the full ``(N, M)`` cosine matrix per image, batched and vectorised.

    ``S = q_n k_n^T / T`` (``N = h*w`` queries, ``M = K*h*w`` keys), class means of ``S`` by a
    one-hot matrix product ``S Y / |Y|``, then the same positive / negative terms as
    :func:`~tr2m.models.losses.soc_loss`. The strongest direct form: one ``bmm`` for all
    similarities, no Python loop; it costs ``O(N M D)`` time and ``O(N M)`` memory.
    """
    import torch.nn.functional as F

    batch, dim = q.shape[:2]
    labels = num_classes + 1
    qn = F.normalize(q.float(), dim=1).flatten(2).transpose(1, 2)  # (B, N, D)
    kn = F.normalize(k.float(), dim=2).transpose(1, 2).reshape(batch, dim, -1)  # (B, D, M)
    sim = torch.bmm(qn, kn) / temperature  # (B, N, M): the full matrix
    yk = k_cls.reshape(batch, -1)
    onehot = (yk[..., None] == torch.arange(labels, device=yk.device)).float()  # (B, M, C+1)
    counts = onehot.sum(1)  # (B, C+1)
    means = torch.bmm(sim, onehot) / counts.clamp_min(1)[:, None, :]  # (B, N, C+1)
    y = q_cls.reshape(batch, -1)
    valid = (y >= 0) & (y < labels)
    y_safe = torch.where(valid, y, torch.zeros_like(y))
    present = counts > 0
    has_pos = valid & present.gather(1, y_safe)
    s_pos = means.gather(2, y_safe[..., None])[..., 0]
    neg = present[:, None, :] & (torch.arange(labels, device=y.device) != y_safe[..., None])
    s_neg = torch.where(neg, means, torch.zeros_like(means)).sum(2)
    if negative_reduction == 'mean':
        s_neg = s_neg / neg.sum(2).clamp_min(1)
    per_query = torch.where(has_pos, F.softplus(s_neg - s_pos), torch.zeros_like(s_pos))
    return per_query.sum() / has_pos.sum().clamp_min(1)


def soc_inputs(batch: int, size: Tuple[int, int], keys: int, dim: int, classes: int,
               device='cpu', seed: int = 0):
    """Random projected features and depth classes (a ramp plus noise, -1 holes) for SOC."""
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    q = torch.randn(batch, dim, h, w, generator=gen)
    k = torch.randn(batch, keys, dim, h, w, generator=gen)
    ramp = torch.linspace(0, classes, h)[:, None].expand(h, w)

    def labels(*lead):
        lab = (ramp + torch.randn(*lead, h, w, generator=gen)).round().clamp(0, classes).long()
        holes = torch.rand(*lead, h, w, generator=gen) < 0.1
        return torch.where(holes, torch.full_like(lab, -1), lab)

    return (q.to(device).requires_grad_(True), k.to(device), labels(batch).to(device),
            labels(batch, keys).to(device))


def soc_forms(classes: int) -> Dict[str, Callable]:
    from tr2m.models.losses import soc_loss

    return dict(class_mean=lambda q, k, a, b: soc_loss(q, k, a, b, num_classes=classes),
                pairwise=lambda q, k, a, b: soc_loss_pairwise(q, k, a, b, classes))


def _hwm_kib() -> int:
    return int(re.search(r'VmHWM:\s+(\d+)', open('/proc/self/status').read()).group(1))


def soc_peak_child(form: str, batch: int, size: Sequence[int], keys: int, dim: int,
                   classes: int) -> dict:
    """In a fresh process: peak RSS increase (MiB) of one forward + backward of a SOC form.

    The peak-RSS counter (``VmHWM``) is reset (``/proc/self/clear_refs``) after the inputs exist
    and one untimed call has run, so the figure is what the call itself adds (run it with
    ``MALLOC_MMAP_THRESHOLD_`` fixed, as :func:`soc_peak_memory` does, so that large blocks are
    returned to the system when freed).
    """
    torch.set_num_threads(int(os.environ.get('TR2M_BENCH_THREADS', '1')))
    q, k, a, b = soc_inputs(batch, tuple(size), keys, dim, classes)
    fn = soc_forms(classes)[form]
    fn(q, k, a, b).backward()
    q.grad = None
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    base = _hwm_kib()
    fn(q, k, a, b).backward()
    return dict(peak_mib=(_hwm_kib() - base) / 1024)


def soc_peak_memory(form: str, batch: int, size, keys: int, dim: int, classes: int,
                    device) -> Tuple[float, str]:
    """Peak memory (MiB) one forward + backward adds, and how it was measured."""
    if str(device).startswith('cuda'):
        q, k, a, b = soc_inputs(batch, tuple(size), keys, dim, classes, device)
        fn = soc_forms(classes)[form]
        fn(q, k, a, b).backward()
        sync(device)
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn(q, k, a, b).backward()
        sync(device)
        return (torch.cuda.max_memory_allocated() - base) / 2**20, \
            'torch.cuda.max_memory_allocated minus the allocated memory before the call'
    code = ('import json, sys; from tr2m.engine.benchmark import soc_peak_child; '
            f'print(json.dumps(soc_peak_child({form!r}, {batch}, {list(size)}, {keys}, {dim}, '
            f'{classes})))')
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # a fixed mmap threshold: glibc otherwise raises it when a large block is freed, and the
    # measured call would reuse the warm-up call's resident heap (its peak then reads ~0)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get('PYTHONPATH', ''),
               TR2M_BENCH_THREADS=str(torch.get_num_threads()), MALLOC_MMAP_THRESHOLD_='65536')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])['peak_mib'], \
        ('peak RSS increase of one call (after a warm-up call) in a fresh subprocess: VmHWM '
         'reset through /proc/self/clear_refs, glibc mmap threshold fixed at 64 KiB')


def soc_benchmark(batch: int, size: Sequence[int], keys: int, dim: int, classes: int,
                  repeats: int, warmup: int, device) -> dict:
    """Class-mean ``soc_loss`` against :func:`soc_loss_pairwise`: time (forward + backward),
    peak memory, and the difference of the loss values and of the gradients."""
    q, k, a, b = soc_inputs(batch, tuple(size), keys, dim, classes, device)
    out = dict(queries=[batch, dim, *size], key_sets=keys, classes=classes,
               keys_per_image=keys * size[0] * size[1])
    values, grads = {}, {}
    for name, fn in soc_forms(classes).items():
        def step(_, fn=fn):
            q.grad = None
            fn(q, k, a, b).backward()

        out[name] = timed(step, repeats, warmup, device)
        q.grad = None
        loss = fn(q, k, a, b)
        loss.backward()
        values[name], grads[name] = loss.detach().double(), q.grad.detach().double().clone()
        out[name]['peak_mib'], out['memory_method'] = soc_peak_memory(
            name, batch, size, keys, dim, classes, device)
    out['loss'] = float(values['class_mean'])
    out['max_abs_diff'] = float((values['class_mean'] - values['pairwise']).abs())
    out['rel_diff'] = out['max_abs_diff'] / max(abs(float(values['pairwise'])), 1e-30)
    out['grad_max_abs_diff'] = float((grads['class_mean'] - grads['pairwise']).abs().max())
    out['speedup'] = out['pairwise']['wall_ms'] / out['class_mean']['wall_ms']
    out['speedup_cpu'] = out['pairwise']['cpu_ms'] / out['class_mean']['cpu_ms']
    out['memory_ratio'] = out['pairwise']['peak_mib'] / max(out['class_mean']['peak_mib'], 1e-3)
    return out


# ---- the cache, for synthetic batches ----------------------------------------------------------
def write_batch_cache(model, batches: Sequence[dict], folder: str, dtype: str,
                      keep_tokens: bool) -> None:
    """Store the frozen outputs of ``batches`` as one part of a feature cache (the format of
    ``tools/cache_features.py``), computed by the uncached ``model``."""
    from tr2m.datasets.feature_store import PartWriter

    keys = [s.img_path for b in batches for s in b['data_samples']]
    captions = list(dict.fromkeys(s.caption for b in batches for s in b['data_samples']))
    widths = dict(model.frozen_widths)
    writer = PartWriter(folder, dict(keys=keys, views=[False], dtype=dtype, widths=widths,
                                     text_tokens=keep_tokens, chunk=len(batches[0]['inputs']),
                                     text_chunk=max(len(captions), 1)), captions)
    with torch.no_grad():
        emb = model.text_encoder._encode(captions)
        tokens = [emb.tokens[i, :int(n)].float().cpu().numpy()
                  for i, n in enumerate(emb.mask.sum(1).tolist())] if keep_tokens else None
        writer.write_text_chunk(0, emb.pooled.float().cpu().numpy(), tokens)
        for i, b in enumerate(batches):
            data = model.data_preprocessor(b, False)
            rel, img = model.frozen_image_features(data['inputs'], data['data_samples'])
            writer.write_image_chunk(i, [[(r[0].float().cpu().numpy(), f.float().cpu().numpy())]
                                         for r, f in zip(rel, img)])
    writer.finish()


def attach_cached(batch: dict, loader) -> dict:
    """Attach every sample's cached features (``LoadCachedFeatures``, the data path of
    cache-mode training) to the samples of ``batch``, in place; returns the batch."""
    for img, s in zip(batch['inputs'], batch['data_samples']):
        loader(dict(inputs=img, data_samples=s))
    return batch


def clear_cached(batch: dict) -> None:
    """Drop what :func:`attach_cached` attached (each step reads its features anew)."""
    for s in batch['data_samples']:
        for key in ('img_feats', 'text_pooled', 'text_tokens', 'rel_depth'):
            if key in s:
                delattr(s, key)


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


def temp_dir(prefix: str = 'tr2m_bench_') -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix=prefix)


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
