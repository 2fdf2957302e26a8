"""``GroupByDatasetBatchSampler``: batches drawn from one sub-dataset at a time.

Mixed training (NYUv2 + KITTI + VOID + C3VD) concatenates datasets whose pipelines produce
different image sizes (476 x 644, 350 x 1218, ...); such images cannot be stacked, so each
batch must come from a single dataset. The plan of an epoch is made globally and identically on
every rank (same seed), then dealt out, so every rank gets the same number of batches (no DDP
hang at the end of an epoch) and, on one process, every sample appears exactly once.
"""
import math
from typing import Iterator, List, Optional

import numpy as np
from mmengine.dist import get_dist_info
from torch.utils.data import BatchSampler, ConcatDataset, Sampler

from tr2m.registry import DATA_SAMPLERS


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


@DATA_SAMPLERS.register_module()
class GroupByDatasetBatchSampler(BatchSampler):
    """Batch sampler whose batches each hold samples of one sub-dataset only.

    Use it as a dataloader's ``batch_sampler`` over an mmengine ``ConcatDataset``::

        train_dataloader = dict(
            batch_size=8,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='GroupByDatasetBatchSampler'),
            dataset=dict(type='ConcatDataset', datasets=[...],
                         ignore_keys=['dataset_name', 'protocol']))

    The wrapped ``sampler`` (built by the runner) supplies the dataset and the settings: its
    ``shuffle``, ``seed``, ``epoch`` (``set_epoch`` by the runner's loop) and ``rank`` /
    ``world_size``; its own index order is not used. Per epoch, with ``rng`` seeded by
    ``seed + epoch``: each group's indices are permuted (if shuffling) and cut into batches of
    ``batch_size`` (a last, smaller batch per group unless ``drop_last``); the batches of all
    groups are permuted together; with ``world_size`` ranks the list is padded by repeating its
    head to a multiple of ``world_size`` and rank ``r`` takes batches ``r, r + world_size, ...``.
    ``len()`` is exact. ``skip = k`` leaves out this rank's first ``k`` batches of the epoch (a
    run resumed inside an epoch, see ``SampleSeedHook``).

    Args:
        sampler (Sampler): the runner's sampler (``DefaultSampler`` / ``InfiniteSampler``); it
            must have a ``dataset`` attribute.
        batch_size (int): samples per batch.
        drop_last (bool): drop each group's last incomplete batch. Defaults to False.
    """

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool = False) -> None:
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f'batch_size must be a positive int, got {batch_size!r}')
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None:
            raise TypeError(f'{type(sampler).__name__} has no dataset attribute; '
                            'GroupByDatasetBatchSampler needs e.g. DefaultSampler')
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

    def _group_batches(self, rng: Optional[np.random.Generator]) -> List[List[int]]:
        batches = []
        for group in np.unique(self.group_ids):
            idx = np.flatnonzero(self.group_ids == group)
            if rng is not None:
                idx = rng.permutation(idx)
            for start in range(0, len(idx), self.batch_size):
                batch = idx[start:start + self.batch_size]
                if len(batch) < self.batch_size and self.drop_last:
                    continue
                batches.append([int(i) for i in batch])
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def plan(self) -> List[List[int]]:
        """All batches of this rank for the current epoch."""
        shuffle = bool(getattr(self.sampler, 'shuffle', False))
        seed = getattr(self.sampler, 'seed', None) or 0
        epoch = getattr(self.sampler, 'epoch', None)
        if epoch is None:
            epoch = self._passes
        rng = np.random.default_rng(seed + epoch) if shuffle else None
        batches = self._group_batches(rng)
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
        counts = np.bincount(self.group_ids)
        counts = counts[counts > 0]
        if self.drop_last:
            n = int(sum(c // self.batch_size for c in counts))
        else:
            n = int(sum(math.ceil(c / self.batch_size) for c in counts))
        _, world = self._dist()
        return max((math.ceil(n / world) if n else 0) - self.skip, 0)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(batch_size={self.batch_size}, '
                f'drop_last={self.drop_last}, groups={len(np.unique(self.group_ids))})')
