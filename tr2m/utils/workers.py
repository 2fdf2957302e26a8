"""Data-loader settings taken from the machine: ``num_workers='auto'``, ``pin_memory='auto'``.

A dataloader config may say ``num_workers='auto'`` (the worker count from the CPUs this process
may run on, :func:`auto_num_workers`) and ``pin_memory='auto'`` (pinned host memory when a CUDA
device is present, so the batch's copy to it is asynchronous). :func:`resolve_loader_settings`
turns them into numbers before the ``DataLoader`` is built (``DepthRunner.build_dataloader``
calls it), and drops ``persistent_workers`` with zero workers (PyTorch refuses that pair).

Each worker also keeps its large buffers (:func:`keep_large_buffers`, glibc only): by default
glibc hands every freed block over ~1-4 MB back to the kernel and maps a fresh one, zero-filled
page by page, for the next sample, which cost ~25% of a worker's time on the NYU pipeline (85-97
against 116-118 samples/s, docs/user_guides/speed.md, "Data loading").
"""
import ctypes
import functools
import os
from typing import Callable, Optional

from tr2m.utils.errors import ConfigError

#: Workers per process at most: one worker of the NYU training pipeline delivers ~130 samples/s
#: on one core (docs/user_guides/speed.md, "Data loading"); 8 cover a GPU's uncached step.
MAX_AUTO_WORKERS = 8


def available_cpus() -> int:
    """CPUs this process may run on (``os.sched_getaffinity``, respects taskset / cgroups'
    cpusets), else ``os.cpu_count()``."""
    if hasattr(os, 'sched_getaffinity'):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def auto_num_workers(cpus: Optional[int] = None, ranks: Optional[int] = None,
                     cap: int = MAX_AUTO_WORKERS) -> int:
    """Workers per training process: the CPUs shared among the processes of this machine,
    one left to each process's main loop, at most ``cap``; 0 (load in the main process) when
    a process has a single CPU.

    Args:
        cpus (int, optional): CPUs available. Defaults to :func:`available_cpus`.
        ranks (int, optional): training processes on this machine. Defaults to the launcher's
            ``LOCAL_WORLD_SIZE``, else 1.
        cap (int): the most workers per process. Defaults to :data:`MAX_AUTO_WORKERS`.
    """
    cpus = available_cpus() if cpus is None else int(cpus)
    ranks = int(os.environ.get('LOCAL_WORLD_SIZE', 1)) if ranks is None else int(ranks)
    per_rank = max(1, cpus // max(1, ranks))
    return max(0, min(cap, per_rank - 1))


#: glibc ``mallopt`` parameters.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_large_buffers(mmap_threshold: int = 16 << 20) -> bool:
    """Serve blocks below ``mmap_threshold`` bytes from the heap and keep up to twice that
    free at its top, so a data worker reuses its image and depth buffers from sample to sample
    instead of mapping (and page-faulting) new ones. Returns whether it applied (glibc only).
    """
    try:
        libc = ctypes.CDLL('libc.so.6')
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))
                    and libc.mallopt(_M_TRIM_THRESHOLD, 2 * int(mmap_threshold)))
    except (OSError, AttributeError):  # not glibc
        return False


def _worker_init(worker_id: int, previous: Optional[Callable] = None) -> None:
    keep_large_buffers()
    if previous is not None:
        previous(worker_id)


def worker_init_with_buffers(previous: Optional[Callable] = None) -> Callable:
    """A ``worker_init_fn`` that calls :func:`keep_large_buffers`, then ``previous``
    (picklable, for every multiprocessing start method)."""
    return functools.partial(_worker_init, previous=previous)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve_loader_settings(cfg: dict, name: str = 'dataloader') -> dict:
    """A copy of a dataloader config with ``'auto'`` settings resolved (see the module doc).

    Raises:
        ConfigError: ``num_workers`` is neither a non-negative int nor ``'auto'``, or
            ``pin_memory`` neither a bool nor ``'auto'``; the message names ``name``.
    """
    cfg = dict(cfg)
    workers = cfg.get('num_workers', 0)
    if workers == 'auto':
        workers = auto_num_workers()
    elif isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigError(f"{name}.num_workers must be an int >= 0 or 'auto', got {workers!r}")
    cfg['num_workers'] = workers
    pin = cfg.get('pin_memory', False)
    if pin == 'auto':
        pin = _cuda_available()
    elif not isinstance(pin, bool):
        raise ConfigError(f"{name}.pin_memory must be True, False or 'auto', got {pin!r}")
    cfg['pin_memory'] = pin
    if workers == 0:
        cfg.pop('persistent_workers', None)
        cfg.pop('prefetch_factor', None)
    return cfg


__all__ = ['available_cpus', 'auto_num_workers', 'resolve_loader_settings', 'keep_large_buffers',
           'worker_init_with_buffers', 'MAX_AUTO_WORKERS']
