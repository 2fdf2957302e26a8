from .global_scale_shift_head import GlobalScaleShiftHead
from .rescale_head import RescaleHead
from .soc_projector import LinearSOCProjector, SOCProjector

__all__ = ['RescaleHead', 'SOCProjector', 'LinearSOCProjector', 'GlobalScaleShiftHead']
