"""``GroupByDatasetBatchSampler``: batches drawn from one sub-dataset at a time.

Mixed training (NYUv2 + KITTI + VOID + C3VD) concatenates datasets whose pipelines produce
different image sizes (476 x 644, 350 x 1218, ...); such images cannot be stacked, so each
batch must come from a single dataset. The plan of an epoch is made globally and identically on
every rank (same seed), then dealt out, so every rank gets the same number of batches (no DDP
hang at the end of an epoch) and, on one process, every sample appears exactly once.
"""
import math
from typing import List, Optional

import numpy as np

from tr2m.datasets.samplers.dataset_batch_sampler import DatasetBatchSampler, dataset_group_ids
from tr2m.registry import DATA_SAMPLERS

__all__ = ['GroupByDatasetBatchSampler', 'dataset_group_ids']


@DATA_SAMPLERS.register_module()
class GroupByDatasetBatchSampler(DatasetBatchSampler):
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
    ``len()`` is exact.

    Args:
        sampler (Sampler): the runner's sampler (``DefaultSampler`` / ``InfiniteSampler``); it
            must have a ``dataset`` attribute.
        batch_size (int): samples per batch.
        drop_last (bool): drop each group's last incomplete batch. Defaults to False.
    """

    def _plan_all(self, rng: Optional[np.random.Generator]) -> List[List[int]]:
        batches = []
        for idx in self.group_indices():
            batches += self.chunks(idx if rng is None else rng.permutation(idx))
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def _num_planned(self) -> int:
        counts = np.bincount(self.group_ids)
        counts = counts[counts > 0]
        if self.drop_last:
            return int(sum(c // self.batch_size for c in counts))
        return int(sum(math.ceil(c / self.batch_size) for c in counts))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(batch_size={self.batch_size}, '
                f'drop_last={self.drop_last}, groups={len(np.unique(self.group_ids))})')
