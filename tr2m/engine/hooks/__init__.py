from .momentum_hook import SOCMomentumHook
from .panel_hook import ValidationPanelHook
from .visualization_hook import DepthVisualizationHook

__all__ = ['SOCMomentumHook', 'DepthVisualizationHook', 'ValidationPanelHook']
