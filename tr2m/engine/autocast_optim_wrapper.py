"""``AutocastOptimWrapper``: bfloat16 autocast on CPU and CUDA, without loss scaling."""
from contextlib import contextmanager
from typing import Optional, Union

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from tr2m.registry import OPTIM_WRAPPERS

#: Autocast dtypes this wrapper accepts. float16 needs loss scaling: use mmengine's
#: ``AmpOptimWrapper`` (CUDA) for it, as ``tools/train.py --amp --amp-dtype float16`` does.
AUTOCAST_DTYPES = ('bfloat16',)


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward (data preprocessor + loss) runs under ``torch.autocast``.

    bfloat16 has float32's exponent range, so gradients need no loss scaling and the backward
    and the optimizer step are those of ``OptimWrapper``; parameters and optimizer state stay
    float32. Unlike mmengine's ``AmpOptimWrapper`` it also runs on CPU. The losses compute in
    float32 inside autocast (``tr2m.models.layers.precision.float32_math``).

    Args:
        dtype (str): autocast dtype, 'bfloat16'. Defaults to 'bfloat16'.
        device_type (str, optional): 'cpu' or 'cuda'; None takes the device of the first
            parameter the optimizer holds. Defaults to None.
        **kwargs: ``OptimWrapper`` arguments (``optimizer``, ``clip_grad``, ...).
    """

    def __init__(self, dtype: str = 'bfloat16', device_type: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if dtype not in AUTOCAST_DTYPES:
            raise ValueError(f'AutocastOptimWrapper dtype must be one of {AUTOCAST_DTYPES}, got '
                             f'{dtype!r} (float16 needs loss scaling: AmpOptimWrapper on CUDA)')
        if device_type not in (None, 'cpu', 'cuda'):
            raise ValueError(f"device_type must be None, 'cpu' or 'cuda', got {device_type!r}")
        self.cast_dtype: torch.dtype = getattr(torch, dtype)
        self.device_type = device_type

    def _device_type(self) -> str:
        if self.device_type is not None:
            return self.device_type
        for group in self.optimizer.param_groups:
            for p in group['params']:
                return p.device.type
        return 'cpu'

    @contextmanager
    def optim_context(self, model: Union[nn.Module, None]):
        with super().optim_context(model), torch.autocast(self._device_type(),
                                                          dtype=self.cast_dtype):
            yield
