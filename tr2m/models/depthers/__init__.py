from .base import BaseDepther, affine_inverse_to_depth, relative_inverse_depth
from .metric_baseline import METRIC_DEPTH_PRESETS, MetricDepthBaseline, MetricDepthNetwork
from .relative_baseline import RelativeDepthBaseline
from .rsa import RSA
from .tr2m import TR2M

__all__ = ['BaseDepther', 'TR2M', 'RSA', 'RelativeDepthBaseline', 'MetricDepthBaseline',
           'MetricDepthNetwork', 'METRIC_DEPTH_PRESETS', 'relative_inverse_depth',
           'affine_inverse_to_depth']
