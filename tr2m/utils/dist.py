"""Distributed helpers: start the process group for a launcher, and exact global batch means.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` whatever the backend, so on a machine
without CUDA it fails before gloo is reached. The tools call :func:`distributed` before building
the runner instead: it starts the process group itself (gloo on CPU, nccl with CUDA unless the
config names a backend), and mmengine then finds the group initialised and uses it.

:func:`global_mean` makes a per-image mean over a data-dependent count (images with valid pixels,
images that pass a gate) the mean over the *global* batch, so that N ranks x b images give the
gradient of 1 x N*b images once DDP averages the ranks' gradients; :func:`all_gather_cat` lets a
component build targets from the global batch (SOC's keys and class statistics).
"""
import contextlib
import datetime
import os
import subprocess
from typing import Iterator, Optional, Tuple, Union

import torch
import torch.distributed as torch_dist
from torch import Tensor

from tr2m.utils.choices import LAUNCHERS  # defined without torch, for the tools' --launcher
from tr2m.utils.errors import ArgumentError

#: Environment each launcher must provide, and the tool to use when it is missing.
_LAUNCHER_ENV = {
    'pytorch': (('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'),
                'start it with torchrun: bash tools/dist_train.sh CONFIG NPROC '
                '(or torchrun --nproc_per_node NPROC tools/train.py CONFIG --launcher pytorch)'),
    'slurm': (('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
              'start it with srun: bash tools/slurm_train.sh PARTITION JOB CONFIG'),
    'mpi': (('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_RANK',
             'MASTER_ADDR'),
            'start it with mpirun (and set MASTER_ADDR)'),
}


def get_world_size() -> int:
    """Number of processes of the default group (1 without one)."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_world_size()
    return 1


def get_rank() -> int:
    """Rank in the default group (0 without one)."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_rank()
    return 0


def resolve_backend(backend: Optional[str] = None) -> str:
    """The process-group backend: ``backend`` when given (and not ``'auto'``), else ``'nccl'``
    on a machine with CUDA and ``'gloo'`` without."""
    if backend in (None, 'auto'):
        return 'nccl' if torch.cuda.is_available() else 'gloo'
    if backend == 'nccl' and not torch.cuda.is_available():
        raise ArgumentError("env_cfg.dist_cfg.backend='nccl' needs CUDA, and this machine has "
                            "none: use backend='gloo' (or leave it None to choose from the "
                            'machine)')
    return backend


def _launcher_env(launcher: str) -> tuple:
    """``(rank, world_size, local_rank)`` from the launcher's environment (and, for SLURM,
    ``MASTER_ADDR``/``MASTER_PORT`` set the way ``srun`` jobs expect)."""
    names, how = _LAUNCHER_ENV[launcher]
    missing = [n for n in names if n not in os.environ]
    if missing:
        raise ArgumentError(f'--launcher {launcher}: the environment lacks '
                            f'{", ".join(missing)}; {how}')
    env = os.environ
    if launcher == 'pytorch':
        return int(env['RANK']), int(env['WORLD_SIZE']), int(env['LOCAL_RANK'])
    if launcher == 'mpi':
        env.setdefault('MASTER_PORT', '29500')
        env['RANK'], env['WORLD_SIZE'] = env['OMPI_COMM_WORLD_RANK'], env['OMPI_COMM_WORLD_SIZE']
        env['LOCAL_RANK'] = env['OMPI_COMM_WORLD_LOCAL_RANK']
        return int(env['RANK']), int(env['WORLD_SIZE']), int(env['LOCAL_RANK'])
    # slurm
    rank, world = int(env['SLURM_PROCID']), int(env['SLURM_NTASKS'])
    if 'SLURM_LOCALID' in env:
        local = int(env['SLURM_LOCALID'])
    else:
        local = rank % max(torch.cuda.device_count(), 1)
    if 'MASTER_ADDR' not in env:
        out = subprocess.run(['scontrol', 'show', 'hostname', env['SLURM_NODELIST']],
                             capture_output=True, text=True)
        if out.returncode != 0 or not out.stdout.strip():
            raise ArgumentError(f'--launcher slurm: cannot resolve the first host of '
                                f'SLURM_NODELIST={env["SLURM_NODELIST"]!r} with scontrol; set '
                                'MASTER_ADDR')
        env['MASTER_ADDR'] = out.stdout.split()[0]
    env.setdefault('MASTER_PORT', '29500')
    env['RANK'], env['WORLD_SIZE'], env['LOCAL_RANK'] = str(rank), str(world), str(local)
    return rank, world, local


def init_distributed(cfg) -> bool:
    """Start the default process group for ``cfg.launcher`` (a no-op for ``'none'`` or when a
    group exists); return whether this process is distributed.

    The backend is ``cfg.env_cfg.dist_cfg.backend`` resolved by :func:`resolve_backend` and is
    written back to the config. With CUDA the process binds to GPU ``LOCAL_RANK``; without, the
    DDP wrapper gets ``device_ids=None`` (``model_wrapper_cfg``), which CPU modules need.

    Raises:
        ArgumentError: unknown launcher, or the launcher's environment is missing (e.g.
            ``--launcher pytorch`` without torchrun).
    """
    launcher = cfg.get('launcher', 'none')
    if launcher not in LAUNCHERS:
        raise ArgumentError(f'--launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none':
        return False
    if torch_dist.is_initialized():
        return True
    rank, world, local_rank = _launcher_env(launcher)
    env_cfg = dict(cfg.get('env_cfg') or {})
    dist_cfg = dict(env_cfg.get('dist_cfg') or {})
    backend = resolve_backend(dist_cfg.get('backend'))
    env_cfg['dist_cfg'] = dict(dist_cfg, backend=backend)
    cfg['env_cfg'] = env_cfg
    kwargs = {k: v for k, v in dist_cfg.items() if k not in ('backend', 'init_backend')}
    if kwargs.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
    else:
        wrapper = dict(cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel',
                                                            broadcast_buffers=False))
        wrapper.setdefault('device_ids', None)  # a CPU module takes no device ids
        cfg['model_wrapper_cfg'] = wrapper
    store = _attempt_store(launcher, rank, world, kwargs.get('timeout'))
    if store is not None:
        kwargs['store'] = store
    torch_dist.init_process_group(backend=backend, rank=rank, world_size=world, **kwargs)
    return True


def _attempt_store(launcher: str, rank: int, world: int, timeout=None):
    """Under torchrun, the rendezvous store of this attempt: the launcher's store at
    ``MASTER_ADDR:MASTER_PORT`` behind the prefix ``tr2m/attempt_<TORCHELASTIC_RESTART_COUNT>``;
    None elsewhere (``init_process_group``'s ``env://`` then).

    torchrun's static rendezvous (``--master_addr/--master_port``) keeps one store for all the
    restarts of ``--max-restarts``, and the keys the process group of a failed attempt wrote
    there (each rank's gloo address) stay: a restarted rank could read the address of a dead
    process before its peer rewrote it, and wait for a connection forever. A prefix per attempt
    gives every attempt its own keys.
    """
    attempt = os.environ.get('TORCHELASTIC_RESTART_COUNT')
    if launcher != 'pytorch' or attempt is None:
        return None
    agent_hosts = os.environ.get('TORCHELASTIC_USE_AGENT_STORE') == str(True)
    store = torch_dist.TCPStore(
        os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']), world,
        is_master=not agent_hosts and rank == 0,
        timeout=timeout or datetime.timedelta(minutes=30))
    return torch_dist.PrefixStore(f'tr2m/attempt_{attempt}', store)


@contextlib.contextmanager
def distributed(cfg) -> Iterator[bool]:
    """:func:`init_distributed` for the block, and the process group destroyed after it."""
    started_here = not torch_dist.is_initialized()
    is_dist = init_distributed(cfg)
    try:
        yield is_dist
    finally:
        if is_dist and started_here and torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def all_gather_cat(x: Tensor) -> Tuple[Tensor, int]:
    """Concatenate ``x`` (any first-dim length per rank) from every rank, in rank order,
    without autograd (for targets, keys and counts); the identity on one process.

    Returns:
        tuple[Tensor, int]: the concatenation and the offset of this rank's rows in it.
    """
    world = get_world_size()
    if world == 1:
        return x, 0
    n = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    torch_dist.all_gather(sizes, n)
    sizes = [int(s) for s in sizes]
    padded = x.new_zeros((max(sizes), *x.shape[1:]))
    padded[:x.shape[0]] = x.detach()
    parts = [torch.zeros_like(padded) for _ in range(world)]
    torch_dist.all_gather(parts, padded.contiguous())
    return torch.cat([p[:s] for p, s in zip(parts, sizes)]), sum(sizes[:get_rank()])


def global_mean(total: Tensor, count: Union[Tensor, int, float]) -> Tensor:
    """``total / count`` where both are summed over the ranks of a DDP backward.

    Each rank returns ``total_r * world / sum_r(count_r)``; DDP averages the ranks' gradients, so
    the update is the gradient of ``sum_r(total_r) / sum_r(count_r)``: the mean over the global
    batch, also when ranks have unequal counts (images with valid pixels, images through a gate).
    The counts are all-reduced only when a process group of more than one rank exists **and**
    ``total`` requires grad (a loss in a DDP backward, which every rank runs); otherwise this is
    the plain ``total / count``. A zero (global) count gives ``total * 0``, still connected to the
    graph.

    Args:
        total (Tensor): scalar, the sum over this rank's items.
        count (Tensor | int | float): number of this rank's items (not differentiated).

    Returns:
        Tensor: scalar.
    """
    count = torch.as_tensor(count, dtype=total.dtype, device=total.device).detach()
    world = get_world_size()
    if world > 1 and total.requires_grad:
        count = count.clone()
        torch_dist.all_reduce(count)
        return torch.where(count > 0, total * world / count.clamp_min(1), total * 0)
    return torch.where(count > 0, total / count.clamp_min(1), total * 0)


__all__ = ['LAUNCHERS', 'resolve_backend', 'init_distributed', 'distributed', 'global_mean',
           'all_gather_cat', 'get_rank', 'get_world_size']
