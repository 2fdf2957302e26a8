"""``PerDatasetBatchSampler``: every step holds one sub-batch of each training dataset.

RSA (Zeng et al., NeurIPS 2024) trains on NYUv2, KITTI and VOID at once: its released loop
draws, at every optimiser step, one batch of ``batch_size`` from each dataset's own loader,
computes each dataset's loss on its batch and steps once. The datasets' images differ in size,
so the step's samples cannot form one tensor; the depther groups them by dataset (``RSA`` does,
with ``DepthDataPreprocessor(mixed_sizes='list')``).
"""
import math
from typing import List, Optional

import numpy as np

from tr2m.datasets.samplers.dataset_batch_sampler import DatasetBatchSampler
from tr2m.registry import DATA_SAMPLERS

EPOCH_LENGTHS = ('min', 'max')


@DATA_SAMPLERS.register_module()
class PerDatasetBatchSampler(DatasetBatchSampler):
    """Batch sampler whose every batch is ``batch_size`` samples from **each** group (each
    sub-dataset of a ``ConcatDataset``, or each ``dataset_name`` of a plain dataset),
    concatenated in group order.

    Use it as a dataloader's ``batch_sampler``; ``batch_size`` is per dataset, so a step of
    RSA's three-dataset recipe at ``batch_size=8`` holds 24 samples::

        train_dataloader = dict(
            batch_size=8,  # per dataset and step
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='PerDatasetBatchSampler'),
            dataset=dict(type='ConcatDataset', datasets=[...],
                         ignore_keys=['dataset_name', 'protocol']))

    Per epoch, with ``rng`` seeded by ``seed + epoch`` (settings from the wrapped sampler, as
    :class:`GroupByDatasetBatchSampler`): each group's indices are permuted (if shuffling) and
    cut into sub-batches of ``batch_size`` (the last one smaller unless ``drop_last``). The
    epoch has as many steps as

    - ``'min'``: the group with the fewest sub-batches (RSA's loop: it breaks when the KITTI
      loader runs out -- 2,895 steps at batch 8, against NYUv2's 3,029 -- so the rest of the
      larger datasets is not seen that epoch; a different part next epoch when shuffling);
    - ``'max'``: the group with the most; smaller groups are cycled (reshuffled per pass), so
      every sample appears at least once per epoch and those of the largest group exactly once.

    Step ``i`` is the ``i``-th sub-batch of every group. With ``world_size`` ranks the steps
    are dealt out (padded by repeating the first ones), so every rank runs the same number of
    steps, each with one sub-batch of every dataset: the global sub-batch is ``world_size x
    batch_size``. ``len()`` is exact.

    Not reproduced from RSA's loop: its VOID loader did not shuffle (``shuffle=False``), so with
    ``'min'`` every epoch saw the same first 23,160 of VOID's 48,248 frames in file order.

    Args:
        sampler (Sampler): the runner's sampler; it must have a ``dataset`` attribute.
        batch_size (int): samples per group and step.
        drop_last (bool): drop each group's last incomplete sub-batch. Defaults to False
            (RSA's loaders keep it).
        epoch_length (str): 'min' (RSA) or 'max', see above. Defaults to 'min'.
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool = False,
                 epoch_length: str = 'min') -> None:
        super().__init__(sampler, batch_size, drop_last)
        if epoch_length not in EPOCH_LENGTHS:
            raise ValueError(f'epoch_length must be one of {EPOCH_LENGTHS}, got {epoch_length!r}')
        self.epoch_length = epoch_length
        counts = np.bincount(self.group_ids)
        self.counts = counts[counts > 0]
        if self.drop_last and (self.counts < batch_size).any():
            raise ValueError(f'with drop_last, every dataset needs at least batch_size='
                             f'{batch_size} samples; group sizes: {self.counts.tolist()}')

    def _steps_of(self, count: int) -> int:
        return count // self.batch_size if self.drop_last else math.ceil(count / self.batch_size)

    def _num_planned(self) -> int:
        steps = [self._steps_of(int(c)) for c in self.counts]
        if not steps:
            return 0
        if self.epoch_length == 'min':
            return min(steps)
        elif self.epoch_length == 'max':
            return max(steps)
        else:
            raise ValueError(f'epoch_length must be one of {EPOCH_LENGTHS}, '
                             f'got {self.epoch_length!r}')

    def _stream(self, idx: np.ndarray, steps: int,
                rng: Optional[np.random.Generator]) -> List[List[int]]:
        """``steps`` sub-batches of one group: one pass, or passes cycled to fill them."""
        order = idx if rng is None else rng.permutation(idx)
        subs = self.chunks(order)
        if len(subs) >= steps:
            return subs[:steps]
        need, parts = steps * self.batch_size, [order]  # cycled: full sub-batches only
        while sum(len(p) for p in parts) < need:
            parts.append(idx if rng is None else rng.permutation(idx))
        flat = np.concatenate(parts)[:need]
        return [[int(i) for i in flat[s:s + self.batch_size]]
                for s in range(0, need, self.batch_size)]

    def _plan_all(self, rng: Optional[np.random.Generator]) -> List[List[int]]:
        steps = self._num_planned()
        streams = [self._stream(idx, steps, rng) for idx in self.group_indices()]
        return [[i for stream in streams for i in stream[s]] for s in range(steps)]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(batch_size={self.batch_size} per dataset, '
                f'drop_last={self.drop_last}, epoch_length={self.epoch_length!r}, '
                f'groups={len(self.counts)})')
