from .momentum_hook import SOCMomentumHook
from .visualization_hook import DepthVisualizationHook

__all__ = ['SOCMomentumHook', 'DepthVisualizationHook']
