"""``TrainableOptimWrapperConstructor``: an optimizer that holds the trainable parameters only."""
import logging
from typing import Iterable, List

import torch
from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from tr2m.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

#: Optimizers that get ``fused=True`` by default (PyTorch has fused CPU and CUDA kernels).
FUSED_OPTIMIZERS = ('Adam', 'AdamW')
#: Device types of PyTorch's fused Adam/AdamW kernels.
FUSED_DEVICES = ('cpu', 'cuda')


def prefer_fused(optimizer_cfg: dict, params: Iterable[torch.Tensor]) -> dict:
    """``optimizer_cfg`` with ``fused=True`` when it is Adam/AdamW, says nothing of ``fused``
    or ``foreach``, and every parameter is a floating tensor on CPU or CUDA.

    The fused kernel does the whole update of all parameters in one pass per tensor
    (PyTorch's default on CPU is a for-loop over parameters, several elementwise passes
    each). Measured on the paper config's 21.24M trainable parameters (71 tensors), one
    thread, AMD EPYC Zen 3 (AVX2), the three interleaved, median of 5 steps
    (``TR2M_RANDOM_INIT=1 OMP_NUM_THREADS=1 python tools/analysis_tools/benchmark.py
    configs/tr2m_da_s.py --threads 1 --device cpu --sections optim``): for-loop 63.4 ms CPU,
    foreach 61.8 ms, fused 16.2 ms (3.9x). It computes the same update as the for-loop
    (``tests/test_engine/test_trainable_optim_constructor.py``); set ``fused=False`` (or
    ``foreach``) in the config to opt out.
    """
    cfg = dict(optimizer_cfg)
    kind = cfg.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    if name not in FUSED_OPTIMIZERS or 'fused' in cfg or 'foreach' in cfg:
        return cfg
    params = list(params)
    if params and all(p.device.type in FUSED_DEVICES and p.is_floating_point()
                      for p in params):
        cfg['fused'] = True
    return cfg


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

    Adam and AdamW get ``fused=True`` unless the config sets ``fused`` or ``foreach``
    (:func:`prefer_fused`).
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        module = model.module if hasattr(model, 'module') else model
        params: List = [p for p in module.parameters() if p.requires_grad]
        self.optimizer_cfg = prefer_fused(self.optimizer_cfg, params)
        if not self.paramwise_cfg:
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
        fused = ', fused' if wrapper.optimizer.defaults.get('fused') else ''
        print_log(f'optimizer holds {held / 1e6:.2f}M trainable parameters '
                  f'({frozen / 1e6:.2f}M frozen left out){fused}', logger='current')
        return wrapper
