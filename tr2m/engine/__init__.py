from . import hooks
from .autocast_optim_wrapper import AutocastOptimWrapper
from .console import RunHeaderHook
from .hooks import *  # noqa: F401,F403
from .required_hooks import check_required_hooks, registered_hooks, required_hooks
from .runner import DepthRunner
from .trainable_optim_constructor import TrainableOptimWrapperConstructor

__all__ = ['AutocastOptimWrapper', 'DepthRunner', 'RunHeaderHook',
           'TrainableOptimWrapperConstructor', 'check_required_hooks', 'registered_hooks',
           'required_hooks'] + list(hooks.__all__)
