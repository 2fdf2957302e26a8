"""Small collective helpers that are the identity on one process.

They let a batch statistic be global under DDP, so that N ranks x b images compute what one
process computes on N*b images. Tensors are gathered without autograd: use them for targets,
keys and counts, not for values a loss must differentiate through.
"""
from typing import Tuple

import torch
import torch.distributed as dist
from torch import Tensor


def dist_info() -> Tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` without an initialised process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_gather_cat(x: Tensor) -> Tuple[Tensor, int]:
    """Concatenate ``x`` (any first-dim length per rank) from every rank in rank order.

    Returns:
        tuple[Tensor, int]: the concatenation and the offset of this rank's rows in it.
    """
    rank, world = dist_info()
    if world == 1:
        return x, 0
    n = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n)
    sizes = [int(s) for s in sizes]
    longest = max(sizes)
    padded = x.new_zeros((longest, *x.shape[1:]))
    padded[:x.shape[0]] = x
    parts = [torch.zeros_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    out = torch.cat([p[:s] for p, s in zip(parts, sizes)])
    return out, sum(sizes[:rank])


def all_reduce_sum(x: Tensor) -> Tensor:
    """Sum of ``x`` over ranks (a new tensor; ``x`` itself is untouched)."""
    _, world = dist_info()
    if world == 1:
        return x
    out = x.detach().clone()
    dist.all_reduce(out)
    return out


def global_mean(total: Tensor, count: Tensor) -> Tensor:
    """``total / count`` as a mean over all ranks' samples, differentiable in ``total``.

    DDP averages gradients over ranks, so each rank returns
    ``total * world / sum_over_ranks(count)``: the average of these is the global mean whatever
    each rank's count. One process: ``total / count``. ``count`` is clamped to at least 1.
    """
    _, world = dist_info()
    count = all_reduce_sum(count.detach().to(total.dtype))
    return total * world / count.clamp_min(1)
