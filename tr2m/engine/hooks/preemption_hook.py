"""``PreemptionHook``: a SIGTERM (what SLURM, Kubernetes and most schedulers send before they
preempt or cancel a job) ends training with a checkpoint instead of losing the run.

The signal handler only sets a flag; the training step in progress finishes. After it (or at
the end of an epoch) the hook saves a checkpoint through the run's checkpoint hook -- an
``iter_<N>.pth`` inside an epoch (resumed exactly, see :class:`SampleSeedHook`), the epoch's
checkpoint at an epoch's end -- points ``last_checkpoint`` at it and raises
:class:`~tr2m.utils.errors.TrainingInterrupted` (a ``BaseException``, so an ablation grid
stops too), which the tools' :func:`tr2m.utils.cli.run` turns into one line and a clean exit
(code 0): ``--resume`` continues from there. Under DDP the ranks agree (a max
all-reduce of the flag after every iteration), so all of them stop after the same step even when
the signal reaches them at different times. A second SIGTERM while the first is being handled
ends the process at once (the scheduler's default).

``tr2m.engine.DepthRunner`` registers this hook for every training (it is not a config option).
"""
import signal
import threading
from typing import Optional, Sequence

from mmengine.hooks import CheckpointHook, Hook

from tr2m.registry import HOOKS
from tr2m.utils.errors import TrainingInterrupted


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Save a checkpoint and stop training cleanly on a signal (see the module docstring).

    Args:
        signals (sequence of str): signal names to handle. Defaults to ``('SIGTERM',)``.
    """

    priority = 'LOWEST'  # after the checkpoint hook's own saves of the same step

    def __init__(self, signals: Sequence[str] = ('SIGTERM',)) -> None:
        self.signals = [getattr(signal, name) for name in signals]
        self.received: Optional[int] = None
        self._previous = {}

    # ---- the handler ------------------------------------------------------------------------
    def _handle(self, signum, frame) -> None:
        if self.received is not None:  # a second signal: give up at once, as by default
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        self.received = signum

    def before_train(self, runner) -> None:
        self.received = None
        if threading.current_thread() is not threading.main_thread():
            return  # handlers can only be installed from the main thread
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._handle)
            # Python installs handlers without SA_RESTART: the signal would make a system call
            # in progress in any thread fail with EINTR, and threads of C++ libraries (gloo's
            # and NCCL's, a data loader's pinning thread) need not retry. The handler only sets
            # a flag, so those calls are restarted instead.
            signal.siginterrupt(signum, False)

    def after_train(self, runner) -> None:
        self.restore_signals()

    def restore_signals(self) -> None:
        """Put back the handlers :meth:`before_train` replaced (also called by
        :class:`~tr2m.engine.runner.DepthRunner` when training ends with an exception, which
        skips ``after_train``)."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}

    def _requested(self) -> bool:
        """Whether any rank received a signal (every rank calls this at the same points)."""
        from mmengine.dist import all_reduce, get_world_size

        if get_world_size() == 1:
            return self.received is not None
        import torch

        flag = torch.tensor([0 if self.received is None else int(self.received)])
        if torch.distributed.get_backend() == 'nccl':
            flag = flag.cuda()
        all_reduce(flag, op='max')
        if self.received is None and int(flag.item()):
            self.received = int(flag.item())  # another rank's signal
        return bool(int(flag.item()))

    # ---- stopping ---------------------------------------------------------------------------
    @staticmethod
    def _checkpoint_hook(runner) -> Optional[CheckpointHook]:
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook):
                return hook
        return None

    def _save(self, runner, epoch_end: bool) -> str:
        import os.path as osp

        hook = self._checkpoint_hook(runner)
        if hook is None:  # no checkpoint hook configured: save where it would
            name = f'epoch_{runner.epoch + 1}.pth' if epoch_end else f'iter_{runner.iter + 1}.pth'
            runner.save_checkpoint(runner.work_dir, name, by_epoch=epoch_end)
            path = osp.join(runner.work_dir, name)
            with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
                f.write(path)
            return path
        if epoch_end or not hook.by_epoch:  # the checkpoint the hook names for this step
            step = runner.epoch + 1 if hook.by_epoch else runner.iter + 1
            expected = osp.join(hook.out_dir, hook.filename_tmpl.format(step))
            if getattr(hook, 'last_ckpt', None) != expected:
                hook._save_checkpoint(runner)
            return expected
        expected = osp.join(hook.out_dir, f'iter_{runner.iter + 1}.pth')
        if getattr(hook, 'last_ckpt', None) == expected:
            return expected  # iter_interval saved this step already
        if hasattr(hook, 'save_iteration_checkpoint'):
            return hook.save_iteration_checkpoint(runner)
        runner.save_checkpoint(hook.out_dir, osp.basename(expected), by_epoch=False,
                               meta=dict(epoch=runner.epoch, iter=runner.iter + 1))
        return expected

    def _stop(self, runner, epoch_end: bool) -> None:
        path = self._save(runner, epoch_end)
        done = runner.iter if epoch_end else runner.iter + 1
        name = signal.Signals(self.received).name
        message = (f'training stopped by {name} after iteration {done} (epoch '
                   f'{runner.epoch + 1}): checkpoint {path}; continue with --resume')
        runner.logger.warning(message)
        self.restore_signals()
        from mmengine.dist import is_main_process

        raise TrainingInterrupted(message, name, path, done, report=is_main_process())

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._requested():
            self._stop(runner, epoch_end=False)

    def after_train_epoch(self, runner) -> None:
        hook = self._checkpoint_hook(runner)
        if hook is not None and not hook.by_epoch:
            return  # an iteration-based loop ends here: its last step was handled
        if self._requested():
            self._stop(runner, epoch_end=True)


__all__ = ['PreemptionHook', 'TrainingInterrupted']
