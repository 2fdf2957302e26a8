"""What the dataset-aware batch samplers share: group ids, the epoch's seed, dealing to ranks.

A batch sampler here plans a whole epoch globally and identically on every rank (same seed,
same epoch), then deals the planned batches out: the list is padded by repeating its head to a
multiple of ``world_size`` and rank ``r`` takes batches ``r, r + world_size, ...``. So every
rank gets the same number of batches (no DDP hang at the end of an epoch) and, on one process,
the plan is used as is.
"""
import math
from typing import Iterator, List, Optional

import numpy as np
from mmengine.dist import get_dist_info
from torch.utils.data import BatchSampler, ConcatDataset, Sampler


def dataset_group_ids(dataset) -> np.ndarray:
    """Group id of every index: the sub-dataset of a ``ConcatDataset`` (mmengine's or torch's),
    else the ``dataset_name`` of each sample's data_info (one group for a plain dataset)."""
    if isinstance(dataset, ConcatDataset):
        if hasattr(dataset, 'full_init'):
            dataset.full_init()
        sizes = np.diff([0] + list(dataset.cumulative_sizes))
        return np.repeat(np.arange(len(sizes)), sizes)
    if hasattr(dataset, 'get_data_info'):
        names = [dataset.get_data_info(i).get('dataset_name') for i in range(len(dataset))]
        _, ids = np.unique(np.asarray(names, dtype=object).astype(str), return_inverse=True)
        return ids.astype(np.int64)
    return np.zeros(len(dataset), dtype=np.int64)


class DatasetBatchSampler(BatchSampler):
    """Base of the batch samplers that plan an epoch from the dataset's groups.

    The wrapped ``sampler`` (built by the runner) supplies the dataset and the settings: its
    ``shuffle``, ``seed``, ``epoch`` (``set_epoch`` by the runner's loop) and ``rank`` /
    ``world_size``; its own index order is not used. A subclass implements
    :meth:`_plan_all` (every batch of the epoch, for all ranks together) and
    :meth:`_num_planned` (how many, without drawing).

    Args:
        sampler (Sampler): the runner's sampler (``DefaultSampler`` / ``InfiniteSampler``); it
            must have a ``dataset`` attribute.
        batch_size (int): samples per batch (per group and batch, for subclasses that say so).
        drop_last (bool): drop each group's last incomplete batch. Defaults to False.
    """

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool = False) -> None:
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f'batch_size must be a positive int, got {batch_size!r}')
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None:
            raise TypeError(f'{type(sampler).__name__} has no dataset attribute; '
                            f'{type(self).__name__} needs e.g. DefaultSampler')
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.dataset = dataset
        self.group_ids = dataset_group_ids(dataset)
        self._passes = 0  # pass counter for samplers without an epoch (InfiniteSampler)
        self.skip = 0  # batches of this epoch already trained (set on a mid-epoch resume)

    def _dist(self):
        rank, world = get_dist_info()
        return getattr(self.sampler, 'rank', rank), getattr(self.sampler, 'world_size', world)

    def _rng(self) -> Optional[np.random.Generator]:
        """The epoch's generator (seeded by ``seed + epoch``), None without shuffling."""
        if not getattr(self.sampler, 'shuffle', False):
            return None
        seed = getattr(self.sampler, 'seed', None) or 0
        epoch = getattr(self.sampler, 'epoch', None)
        return np.random.default_rng(seed + (self._passes if epoch is None else epoch))

    def group_indices(self) -> List[np.ndarray]:
        """The indices of each group, in group-id order."""
        return [np.flatnonzero(self.group_ids == g) for g in np.unique(self.group_ids)]

    def chunks(self, idx: np.ndarray) -> List[List[int]]:
        """``idx`` cut into batches of ``batch_size`` (the last one smaller unless
        ``drop_last``, which drops it)."""
        out = [[int(i) for i in idx[s:s + self.batch_size]]
               for s in range(0, len(idx), self.batch_size)]
        if out and self.drop_last and len(out[-1]) < self.batch_size:
            out.pop()
        return out

    def _plan_all(self, rng: Optional[np.random.Generator]) -> List[List[int]]:
        raise NotImplementedError

    def _num_planned(self) -> int:
        raise NotImplementedError

    def plan(self) -> List[List[int]]:
        """All batches of this rank for the current epoch."""
        batches = self._plan_all(self._rng())
        rank, world = self._dist()
        if world > 1 and batches:
            total = math.ceil(len(batches) / world) * world
            batches = (batches * math.ceil(total / len(batches)))[:total][rank::world]
        return batches

    def __iter__(self) -> Iterator[List[int]]:
        batches = self.plan()[self.skip:]
        self._passes += 1
        yield from batches

    def __len__(self) -> int:
        n = self._num_planned()
        _, world = self._dist()
        return max((math.ceil(n / world) if n else 0) - self.skip, 0)
