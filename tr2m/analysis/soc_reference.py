"""SOC's class-mean loss against the full pairwise form: a reference, its inputs, and the
time / memory / equality benchmark (the ``soc`` section of ``tools/analysis_tools/benchmark.py``).
"""
import json
import os
import re
import subprocess
import sys
from typing import Callable, Dict, Sequence, Tuple

import torch

from tr2m.analysis.timing import sync, timed


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
    code = ('import json, sys; from tr2m.analysis.soc_reference import soc_peak_child; '
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
