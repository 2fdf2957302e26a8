"""mmengine's ``LoggerHook`` with validation scalars on TensorBoard's iteration axis."""
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook
from mmengine.visualization import TensorboardVisBackend

from tr2m.registry import HOOKS


def validation_steps(runner) -> tuple:
    """``(epoch, iteration)`` a validation is logged at (``(0, 0)`` outside training)."""
    if isinstance(runner._train_loop, dict) or runner._train_loop is None:
        return 0, 0  # a validation or test without a training loop
    return runner.epoch, runner.iter


@HOOKS.register_module()
class DepthLoggerHook(LoggerHook):
    """``LoggerHook`` that logs validation metrics at the training iteration for TensorBoard.

    mmengine logs training scalars at the iteration and, with ``log_metric_by_epoch=True`` (its
    default), validation scalars at the epoch, to every backend: on TensorBoard's one step axis
    the validation curve of epoch 10 lands at step 10, beside iteration 10. This hook writes the
    validation scalars to TensorBoard backends at the iteration the validation ran after (the
    same step as the last training scalars before it) and to the other backends as mmengine does
    (the local ``scalars.json`` keeps the epoch, which ``tools/analysis_tools/analyze_logs.py``
    plots against). Same arguments as ``LoggerHook``.
    """

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.val_dataloader), 'val')
        runner.logger.info(log_str)
        if not is_main_process():  # the visualizer writes on rank 0 only
            return
        epoch, iteration = validation_steps(runner)
        for backend in runner.visualizer._vis_backends.values():
            on_iterations = isinstance(backend, TensorboardVisBackend) or \
                not self.log_metric_by_epoch
            backend.add_scalars(tag, step=iteration if on_iterations else epoch,
                                file_path=self.json_log_path)


__all__ = ['DepthLoggerHook', 'validation_steps']
