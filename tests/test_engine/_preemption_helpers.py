"""Hooks the preemption tests load into a training (``custom_imports``): a slow step that leaves
a marker file after each iteration, and one that sends this process a SIGTERM."""
import os
import signal
import time
from pathlib import Path

from mmengine.hooks import Hook

from tr2m.registry import HOOKS


@HOOKS.register_module(force=True)
class SlowStepHook(Hook):
    """Sleep ``seconds`` after every iteration, then touch ``<marker_dir>/iter_<N>``."""

    priority = 'LOWEST'

    def __init__(self, marker_dir: str, seconds: float = 0.3) -> None:
        self.marker_dir, self.seconds = Path(marker_dir), seconds

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        time.sleep(self.seconds)
        self.marker_dir.mkdir(parents=True, exist_ok=True)
        (self.marker_dir / f'iter_{runner.iter + 1}').touch()


@HOOKS.register_module(force=True)
class SelfTermHook(Hook):
    """Send this process a SIGTERM at the end of iteration ``at_iter`` or of epoch ``at_epoch``
    (1-based), before the other hooks of that point run."""

    priority = 'HIGHEST'

    def __init__(self, at_iter: int = None, at_epoch: int = None) -> None:
        self.at_iter, self.at_epoch = at_iter, at_epoch

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            os.kill(os.getpid(), signal.SIGTERM)

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.at_epoch:
            os.kill(os.getpid(), signal.SIGTERM)


@HOOKS.register_module(force=True)
class RankMarkerHook(Hook):
    """Sleep ``seconds`` after every iteration, then touch
    ``<marker_dir>/r<RANK>_iter_<N>_pid<PID>`` (which process of which rank did what)."""

    priority = 'LOWEST'

    def __init__(self, marker_dir: str, seconds: float = 0.3) -> None:
        self.marker_dir, self.seconds = Path(marker_dir), seconds

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        time.sleep(self.seconds)
        self.marker_dir.mkdir(parents=True, exist_ok=True)
        rank = os.environ.get('RANK', '0')
        (self.marker_dir / f'r{rank}_iter_{runner.iter + 1}_pid{os.getpid()}').touch()
