"""Precision guards (re-exported: their home is :mod:`tr2m.functional.precision`)."""
from tr2m.functional.precision import AUTOCAST_DEVICES, autocast_off, float32_math

__all__ = ['AUTOCAST_DEVICES', 'autocast_off', 'float32_math']
