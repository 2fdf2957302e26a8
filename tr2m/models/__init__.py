from .backbones import *  # noqa: F401,F403
from .contrast import *  # noqa: F401,F403
from .data_preprocessor import DepthDataPreprocessor
from .depthers import *  # noqa: F401,F403
from .encoders import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .tta import DepthTTAModel

__all__ = ['DepthDataPreprocessor', 'DepthTTAModel']
