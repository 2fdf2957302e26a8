"""Per-sample random draws seeded from ``(seed, epoch, sample index)``.

Random transforms (``RandomCrop``, ``RandomFlip``, ``LoadCaption(mode='random')``) draw from
``results['rng']``, a ``numpy.random.Generator`` that the dataset creates for every sample from
``SeedSequence([seed, epoch, offset + index])``. The draws of a sample therefore depend on
nothing but the run's seed, the epoch and the sample: they are the same on any number of ranks
and workers, differ between ranks (each rank loads other samples), and are restored exactly by
a resume (the epoch comes from the checkpoint), which the global numpy generator, not saved in
checkpoints, cannot give.

``SampleSeedHook`` sets ``seed``/``epoch`` before every training epoch. The state lives in a
shared-memory tensor, so dataloader workers -- persistent ones included -- see the update made
in the main process. Until a seed is set (a dataset used outside a runner), transforms fall back
to the global numpy generator, as before.
"""
import logging
from typing import Optional

import numpy as np
import torch
from mmengine.logging import print_log

from tr2m.datasets.depth_io import TruncatedImageError


class _GlobalNumpy:
    """The subset of ``numpy.random.Generator`` the transforms use, on the global generator."""

    @staticmethod
    def integers(high: int) -> int:
        return int(np.random.randint(high))

    @staticmethod
    def random() -> float:
        return float(np.random.rand())


GLOBAL_NUMPY = _GlobalNumpy()


def sample_rng(results: dict):
    """The sample's generator (``results['rng']``), else the global numpy generator."""
    rng = results.get('rng')
    return GLOBAL_NUMPY if rng is None else rng


class SeededDrawsMixin:
    """Give every sample of a (mmengine ``BaseDataset``) dataset its own seeded generator.

    Call :meth:`_init_draw_state` in ``__init__``; :meth:`prepare_data` then adds ``rng`` (and
    ``sample_seed``, the ``[seed, epoch, index]`` it came from) to each sample's data info once
    :meth:`set_draw_seed` has been called.

    A truncated JPEG (:class:`~tr2m.datasets.depth_io.TruncatedImageError`) is an error in
    ``test_mode``; in training it is skipped with a warning naming it and counting the skips
    (``skipped_truncated``), and mmengine's ``BaseDataset`` loads another sample instead.
    """

    def _init_draw_state(self) -> None:
        # seed, epoch, index offset (the position of this dataset inside a ConcatDataset)
        self._draw_state = torch.full((3,), -1, dtype=torch.int64).share_memory_()

    def set_draw_seed(self, seed: int, epoch: int, offset: int = 0) -> None:
        """Seed the draws of ``epoch`` (all arguments non-negative integers)."""
        if seed is None or int(seed) < 0 or int(epoch) < 0 or int(offset) < 0:
            raise ValueError(f'draw seed, epoch and offset must be non-negative, got '
                             f'{seed}, {epoch}, {offset}')
        self._draw_state[0], self._draw_state[1] = int(seed), int(epoch)
        self._draw_state[2] = int(offset)

    def draw_seed(self, idx: int) -> Optional[list]:
        """``[seed, epoch, offset + idx]`` of sample ``idx``, or None when no seed is set."""
        state = getattr(self, '_draw_state', None)
        if state is None or int(state[0]) < 0:
            return None
        seed, epoch, offset = (int(v) for v in state.tolist())
        return [seed, epoch, offset + int(idx)]

    def prepare_data(self, idx: int):
        data_info = self.get_data_info(idx)
        entropy = self.draw_seed(idx)
        if entropy is not None:
            data_info['sample_seed'] = entropy
            data_info['rng'] = np.random.default_rng(np.random.SeedSequence(entropy))
        try:
            return self.pipeline(data_info)
        except TruncatedImageError as err:
            if getattr(self, 'test_mode', True):
                raise  # evaluation and inference: an error naming the file
            # training: a counted skip; mmengine's BaseDataset then loads another sample
            self.skipped_truncated = getattr(self, 'skipped_truncated', 0) + 1
            print_log(f'{type(self).__name__}: skipped a truncated image '
                      f'({self.skipped_truncated} so far in this process): {err}',
                      logger='current', level=logging.WARNING)
            return None


__all__ = ['SeededDrawsMixin', 'sample_rng', 'GLOBAL_NUMPY']
