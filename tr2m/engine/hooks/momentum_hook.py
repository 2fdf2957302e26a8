"""``SOCMomentumHook``: EMA update of a model's momentum branch after every optimizer step."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tr2m.registry import HOOKS


@HOOKS.register_module()
class SOCMomentumHook(Hook):
    """Call ``model.momentum_update()`` after each training iteration that stepped the
    optimizer (TR2M's contrastive key branch). Models without that method are left alone, and so
    are iterations whose step ``NonFiniteGuardHook`` skipped."""

    priority = 'NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        update = getattr(model, 'momentum_update', None)
        if update is None:
            return
        if runner.message_hub.get_info('skipped_iter', -1) == runner.iter:
            return  # no optimizer step happened
        wrapper = runner.optim_wrapper
        stepped = getattr(wrapper, 'should_update', lambda: True)
        if stepped():
            update()
