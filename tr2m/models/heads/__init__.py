from .rescale_head import RescaleHead
from .soc_projector import SOCProjector

__all__ = ['RescaleHead', 'SOCProjector']
