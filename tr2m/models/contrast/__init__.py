from .momentum import MomentumComponent, momentum_components
from .scale_oriented_contrast import (
    CLASS_RANGES,
    LABEL_ORDERS,
    PAPER_PROJECTOR,
    ScaleOrientedContrast,
    soc_components,
)

__all__ = ['ScaleOrientedContrast', 'CLASS_RANGES', 'LABEL_ORDERS', 'PAPER_PROJECTOR',
           'soc_components',
           'MomentumComponent', 'momentum_components']
