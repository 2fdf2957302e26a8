"""``SOCMomentumHook``: EMA update of every momentum branch after each optimizer step."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tr2m.registry import HOOKS


@HOOKS.register_module()
class SOCMomentumHook(Hook):
    """After each training iteration that stepped the optimizer, call ``momentum_update()`` on
    every submodule of the model that has one (e.g. each ``ScaleOrientedContrast``). Models
    without a momentum branch are left alone, and so are iterations whose step
    ``NonFiniteGuardHook`` skipped."""

    priority = 'NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        stepped = getattr(runner.optim_wrapper, 'should_update', lambda: True)
        if not stepped():
            return
        hub = getattr(runner, 'message_hub', None)
        if hub is not None and hub.get_info('skipped_iter', -1) == runner.iter:
            return  # no optimizer step happened
        for module in model.modules():
            update = getattr(module, 'momentum_update', None)
            if callable(update):
                update()
