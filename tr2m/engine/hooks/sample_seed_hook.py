"""``SampleSeedHook``: seed every training sample's random draws from (seed, epoch, index), and
continue a run resumed inside an epoch at the batch where it stopped."""
import itertools
import logging
from typing import Iterator

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from tr2m.registry import HOOKS


def seed_datasets(dataset, seed: int, epoch: int, offset: int = 0) -> int:
    """Call ``set_draw_seed(seed, epoch, offset)`` on ``dataset`` and on every dataset it wraps
    (``datasets`` of a ``ConcatDataset``, each with its index offset; ``dataset`` of a wrapper).

    Returns:
        int: how many datasets were seeded.
    """
    if hasattr(dataset, 'set_draw_seed'):
        dataset.set_draw_seed(seed, epoch, offset)
        return 1
    subs = getattr(dataset, 'datasets', None)
    if isinstance(subs, (list, tuple)):
        count, start = 0, offset
        for sub in subs:
            count += seed_datasets(sub, seed, epoch, start)
            start += len(sub)
        return count
    inner = getattr(dataset, 'dataset', None)
    if inner is not None and inner is not dataset:
        return seed_datasets(inner, seed, epoch, offset)
    return 0


class _SkipFirst:
    """A sampler view without its first ``n`` indices (the rest of a resumed epoch)."""

    def __init__(self, sampler, n: int) -> None:
        self.sampler = sampler
        self.n = n

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(iter(self.sampler), self.n, None)

    def __len__(self) -> int:
        return max(len(self.sampler) - self.n, 0)

    def __getattr__(self, name):
        return getattr(self.sampler, name)


@HOOKS.register_module()
class SampleSeedHook(Hook):
    """Before each training epoch, give the training dataset(s) the run's seed and the epoch.

    Datasets with :class:`~tr2m.datasets.seeding.SeededDrawsMixin` (every tr2m dataset) then
    draw each sample's crop, flip and caption from ``SeedSequence([seed, epoch, index])``: the
    same draws on 1 or N ranks and any number of workers, and the same after a resume. A
    dataset without the mixin is reported once (its transforms keep the global numpy
    generator, which checkpoints do not hold).

    A resume from a checkpoint saved inside an epoch (``SafeCheckpointHook(iter_interval=N)``)
    skips the batches of that epoch already trained, so the run continues exactly where it
    stopped (the batch order of an epoch depends only on the sampler's seed and the epoch).
    The in-epoch batch index that hooks see restarts at 0 in that epoch; ``runner.iter`` is right.

    Iteration-based loops have no epoch: samples are seeded with epoch 0, so a sample gets the
    same draws in every pass over the data (a warning says so).
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._restore = None
        self._warned = False

    def _seed(self, runner, epoch: int) -> None:
        dataset = runner.train_dataloader.dataset
        if seed_datasets(dataset, int(runner.seed), int(epoch)) == 0 and not self._warned:
            self._warned = True
            print_log(f'SampleSeedHook: {type(dataset).__name__} has no set_draw_seed; its '
                      'random transforms use the global numpy generator, which a resume does '
                      'not restore', logger='current', level=logging.WARNING)

    def before_train(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            print_log('SampleSeedHook: iteration-based loop; each sample is seeded with epoch 0, '
                      'so its crop, flip and caption repeat in every pass over the data',
                      logger='current', level=logging.WARNING)
            self._seed(runner, 0)

    def before_train_epoch(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            return  # seeded in before_train; mmengine skips the trained batches itself
        self._seed(runner, runner.epoch)
        loader = runner.train_dataloader
        done = runner.iter - runner.epoch * len(loader)
        if 0 < done <= len(loader):
            self._skip(runner, loader, done)

    def _skip(self, runner, loader, done: int) -> None:
        batch_sampler = loader.batch_sampler
        if hasattr(batch_sampler, 'skip'):  # tr2m's GroupByDatasetBatchSampler
            batch_sampler.skip = done
            self._restore = lambda: setattr(batch_sampler, 'skip', 0)
        elif batch_sampler is not None and hasattr(batch_sampler, 'sampler'):
            original = batch_sampler.sampler
            batch_sampler.sampler = _SkipFirst(original, done * batch_sampler.batch_size)
            self._restore = lambda: setattr(batch_sampler, 'sampler', original)
        else:
            raise RuntimeError(f'cannot resume inside epoch {runner.epoch + 1}: the training '
                               'dataloader has no batch sampler to skip the trained batches')
        runner.logger.info(f'resumed inside epoch {runner.epoch + 1}: skipping its first {done} '
                           f'of {len(loader) + done} batches, already trained')

    def after_train_epoch(self, runner) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None
