"""Precision guards for mixed-precision training: where the maths must stay in float32."""
import functools
from contextlib import ExitStack, contextmanager
from typing import Any, Callable

import torch

#: Devices whose autocast state :func:`float32_math` switches off inside the guarded function.
AUTOCAST_DEVICES = ('cpu', 'cuda')
_LOW = (torch.float16, torch.bfloat16)


def _to_float32(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.dtype in _LOW:
        return value.float()
    return value


@contextmanager
def autocast_off():
    """Switch off autocast on every device where it is on (storage ops such as stacking cached
    float16 tensors, which CPU autocast refuses)."""
    with ExitStack() as stack:
        for device in AUTOCAST_DEVICES:
            if torch.is_autocast_enabled(device):
                stack.enter_context(torch.autocast(device, enabled=False))
        yield


def float32_math(fn: Callable) -> Callable:
    """Run ``fn`` with autocast off and its float16/bfloat16 tensor arguments in float32.

    Autocast runs matrix products (``bmm``, ``matmul``) in the low precision even on float32
    inputs, and elementwise ops (``log``, sums) follow their inputs' dtype; a loss of a bfloat16
    prediction would then be computed with 8 mantissa bits. Guarded functions (SI-log, the
    scale/shift fit, SOC, smoothness) see float32 (float64 stays float64) and return float32,
    and gradients flow back through the casts to the low-precision tensors.
    """
    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        with autocast_off():
            return fn(*(_to_float32(a) for a in args),
                      **{k: _to_float32(v) for k, v in kwargs.items()})
    return guarded


def accumulate_dtype(t: torch.Tensor) -> torch.dtype:
    """dtype of sums over many pixels of ``t``: float64, except on MPS (no float64 there)."""
    return torch.float32 if t.device.type == 'mps' else torch.float64


__all__ = ['AUTOCAST_DEVICES', 'autocast_off', 'float32_math', 'accumulate_dtype']
