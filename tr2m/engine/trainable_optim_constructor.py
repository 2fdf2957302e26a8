"""``TrainableOptimWrapperConstructor``: an optimizer that holds the trainable parameters only."""
import logging
from typing import List

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from tr2m.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS


class _DropSkippedFrozen(logging.Filter):
    """Silence mmengine's one warning per frozen parameter (~700 lines for TR2M)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return 'is skipped since its requires_grad=False' not in record.getMessage()


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, given only the parameters with ``requires_grad``.

    Without ``paramwise_cfg`` mmengine hands ``model.parameters()`` -- all ~470M of TR2M's,
    frozen encoders and the SOC momentum branch included -- to the optimizer; they get no
    gradient, but the optimizer holds them (and iterates them at every step, in ``zero_grad``,
    clipping and weight decay bookkeeping). This constructor passes the trainable ones only;
    with ``paramwise_cfg`` the default per-parameter rules apply to the same set, without a
    warning per frozen parameter. It logs how many parameters the optimizer holds.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        module = model.module if hasattr(model, 'module') else model
        if not self.paramwise_cfg:
            params: List = [p for p in module.parameters() if p.requires_grad]
            optimizer_cfg = dict(self.optimizer_cfg)
            optimizer_cfg['params'] = params
            optimizer = OPTIMIZERS.build(optimizer_cfg)
            wrapper_cfg = dict(self.optim_wrapper_cfg)
            wrapper_cfg.setdefault('type', 'OptimWrapper')
            wrapper = OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))
        else:
            logger = MMLogger.get_current_instance()
            quiet = _DropSkippedFrozen()
            logger.addFilter(quiet)
            try:
                wrapper = super().__call__(module)
            finally:
                logger.removeFilter(quiet)
        held = sum(p.numel() for g in wrapper.optimizer.param_groups for p in g['params'])
        frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
        print_log(f'optimizer holds {held / 1e6:.2f}M trainable parameters '
                  f'({frozen / 1e6:.2f}M frozen left out)', logger='current')
        return wrapper
