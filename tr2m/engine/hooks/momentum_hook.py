"""``SOCMomentumHook``: the EMA update of every momentum branch after each optimizer step."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tr2m.models.contrast.momentum import momentum_components
from tr2m.registry import HOOKS
from tr2m.utils.errors import ConfigError


def optimizer_stepped(runner) -> bool:
    """Whether this training iteration's optimizer step really happened: not an iteration
    that only accumulated gradients (``optim_wrapper.should_update()``), not one whose step
    ``NonFiniteGuardHook`` skipped (it records ``skipped_iter`` in the message hub)."""
    should_update = getattr(runner.optim_wrapper, 'should_update', None)
    if should_update is not None and not should_update():
        return False
    hub = getattr(runner, 'message_hub', None)
    return hub is None or hub.get_info('skipped_iter', -1) != runner.iter


@HOOKS.register_module()
class SOCMomentumHook(Hook):
    """After each training iteration whose optimizer step happened (see
    :func:`optimizer_stepped`), call ``momentum_update()`` on every
    :class:`~tr2m.models.contrast.MomentumComponent` of the model (each
    ``ScaleOrientedContrast``). Models without one are left alone.

    It is a default hook (``default_hooks.soc_momentum`` in
    ``configs/_base_/default_runtime.py``), so a config that sets ``custom_hooks`` keeps it;
    registered twice it would update the EMA twice per step, so ``before_train`` refuses that.
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        same = [h for h in runner.hooks if isinstance(h, SOCMomentumHook)]
        if len(same) > 1:
            raise ConfigError(
                f'SOCMomentumHook is registered {len(same)} times, so every momentum branch '
                'would be updated that many times per step; keep the default one '
                "(default_hooks.soc_momentum) and remove dict(type='SOCMomentumHook') from "
                'custom_hooks')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not optimizer_stepped(runner):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for component in momentum_components(model):
            component.momentum_update()
