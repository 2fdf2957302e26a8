from .base import BaseDepther
from .tr2m import TR2M

__all__ = ['BaseDepther', 'TR2M']
