from . import hooks
from .autocast_optim_wrapper import AutocastOptimWrapper
from .hooks import *  # noqa: F401,F403
from .required_hooks import check_required_hooks, registered_hooks, required_hooks
from .trainable_optim_constructor import TrainableOptimWrapperConstructor

__all__ = ['AutocastOptimWrapper', 'TrainableOptimWrapperConstructor', 'check_required_hooks',
           'registered_hooks', 'required_hooks'] + list(hooks.__all__)
