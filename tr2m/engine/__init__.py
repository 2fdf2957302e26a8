from . import hooks
from .autocast_optim_wrapper import AutocastOptimWrapper
from .hooks import *  # noqa: F401,F403
from .trainable_optim_constructor import TrainableOptimWrapperConstructor

__all__ = ['AutocastOptimWrapper', 'TrainableOptimWrapperConstructor'] + list(hooks.__all__)
