from .formatting import PackDepthInputs
from .geometric import CenterCrop, KBCrop, RandomCrop, RandomFlip, Resize
from .loading import LoadCachedFeatures, LoadCaption, LoadDepth, LoadRelativeDepth, LoadRGBImage

__all__ = [
    'LoadRGBImage', 'LoadDepth', 'LoadRelativeDepth', 'LoadCaption', 'Resize', 'RandomFlip',
    'RandomCrop', 'KBCrop', 'CenterCrop', 'PackDepthInputs', 'LoadCachedFeatures'
]
