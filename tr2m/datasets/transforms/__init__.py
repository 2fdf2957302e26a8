from .base import BaseTransform
from .formatting import PackDepthInputs
from .geometric import CenterCrop, KBCrop, RandomCrop, RandomFlip, RandomRotate, Resize
from .loading import LoadCaption, LoadDepth, LoadRelativeDepth, LoadRGBImage

__all__ = [
    'BaseTransform',
    'LoadRGBImage', 'LoadDepth', 'LoadRelativeDepth', 'LoadCaption', 'Resize', 'RandomFlip',
    'RandomCrop', 'RandomRotate', 'KBCrop', 'CenterCrop', 'PackDepthInputs'
]
