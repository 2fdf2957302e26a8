from .base import BaseDepther
from .relative_baseline import RelativeDepthBaseline, relative_inverse_depth
from .rsa import RSA
from .tr2m import TR2M

__all__ = ['BaseDepther', 'TR2M', 'RSA', 'RelativeDepthBaseline', 'relative_inverse_depth']
