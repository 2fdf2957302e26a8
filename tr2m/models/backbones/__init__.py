from .relative_depth import REL_DEPTH_PRESETS, TransformersRelativeDepth
from .simulated_relative_depth import SimulatedRelativeDepth

__all__ = ['TransformersRelativeDepth', 'REL_DEPTH_PRESETS', 'SimulatedRelativeDepth']
