"""``LossBalanceHook``: every N iterations, log each loss term's gradient norm on the
parameters it shares with the depth loss."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tr2m.registry import HOOKS


@HOOKS.register_module()
class LossBalanceHook(Hook):
    """Ask the model for its loss-balance diagnostics every ``interval`` training iterations.

    The depther (``BaseDepther.loss_balance``) then adds ``gnorm_<term>`` (gradient norm of the
    weighted term on the trainable parameters it shares with ``loss_silog``) and
    ``gratio_<term>`` (that norm over ``loss_silog``'s on the same parameters) to the step's
    log; e.g. ``gratio_soc = 33`` says the contrast pushes the shared neck 33x harder than the
    depth loss. Costs one extra backward pass per term on those iterations only.

    A default hook (``default_hooks.loss_balance`` in ``configs/_base_/default_runtime.py``):
    ``default_hooks.loss_balance.interval=0`` switches it off.

    Args:
        interval (int): every how many iterations; 0: never. Defaults to 50.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 50) -> None:
        if interval < 0:
            raise ValueError(f'LossBalanceHook: interval must be >= 0 (0: off), got {interval}')
        self.interval = interval

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self.interval == 0:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if self.every_n_train_iters(runner, self.interval) or runner.iter == 0:
            model.loss_balance_due = True
