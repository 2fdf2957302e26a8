"""``MomentumComponent``: the interface of a component that keeps a momentum (EMA) branch."""
from abc import ABC, abstractmethod
from typing import ClassVar, List, Tuple

from torch import nn


class MomentumComponent(ABC):
    """A model component with a momentum branch: EMA copies of live modules, stepped once per
    optimizer step (MoCo's key encoder).

    The component owns the update (:meth:`momentum_update`: which modules move, with which
    momentum, and what else must follow a real step, e.g. a key queue push); the training loop
    owns *when*: right after an optimizer step that really happened. ``SOCMomentumHook`` calls
    it; the hooks a component needs are named in :attr:`REQUIRED_HOOKS`.

    Why a hook and not an update inside ``loss()`` as mmpretrain's MoCoV3 does: only the
    runner knows whether the weights changed. With gradient accumulation ``loss`` runs k times
    per optimizer step, and a step that ``NonFiniteGuardHook`` skips runs ``loss`` and leaves
    the weights alone. An update inside ``loss`` would move the EMA k times per step or after
    skipped steps and push the key queue for steps that never happened; an update deferred to
    the next ``loss`` would need extra saved state to resume bit-exactly; and under DDP the
    wrapper's ``train_step`` runs instead of the depther's, so a depther-side step hook would
    not run there. The hook reads ``optim_wrapper.should_update()`` and the guard's
    ``skipped_iter``, so the hook decides *when* and the component *what*.

    Why it cannot be dropped: the hook is a *default* hook (``default_hooks.soc_momentum`` in
    ``configs/_base_/default_runtime.py``; mmengine merges ``default_hooks`` by key across
    ``_base_`` files, while a ``custom_hooks`` list replaces the base's), and
    :func:`tr2m.engine.check_required_hooks` (run by ``tools/train.py``) refuses, exit code 2,
    a config whose model has a momentum component but whose hooks lack a required one or hold
    it twice.
    """

    #: Hook types a training config must register exactly once for this component
    #: (``configs/_base_/default_runtime.py`` has them in ``default_hooks``).
    REQUIRED_HOOKS: ClassVar[Tuple[str, ...]] = ('SOCMomentumHook',)

    @abstractmethod
    def momentum_update(self) -> None:
        """One EMA step ``k = m k + (1 - m) q`` of the momentum branch; called once after
        every optimizer step that changed the live weights, never otherwise."""


def momentum_components(model: nn.Module) -> List[MomentumComponent]:
    """Every :class:`MomentumComponent` inside ``model`` (in ``model.modules()`` order)."""
    return [m for m in model.modules() if isinstance(m, MomentumComponent)]


__all__ = ['MomentumComponent', 'momentum_components']
