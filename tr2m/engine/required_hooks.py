"""The hooks a model needs, checked on the resolved config before a runner is built.

mmengine registers two kinds of hooks: ``default_hooks``, a dict that ``_base_`` inheritance
merges by key, and ``custom_hooks``, a list that a child config replaces as a whole. tr2m keeps
every hook a run relies on in ``default_hooks`` (``configs/_base_/default_runtime.py``:
``soc_momentum``, ``loss_balance``, ``caption_embedding`` next to mmengine's own), so a config
that sets ``custom_hooks = [dict(type='MyHook')]`` adds its hook and drops nothing.

Components declare the hooks they need in a ``REQUIRED_HOOKS`` class attribute
(:class:`~tr2m.models.contrast.MomentumComponent`: ``ScaleOrientedContrast`` needs
``SOCMomentumHook``). :func:`check_required_hooks` finds them in the model config and refuses,
with one line naming the hook and the component, a config that lacks one or registers one
twice; ``tools/train.py`` runs it before anything is built.
"""
from typing import Any, Dict, List, Optional, Tuple

from torch import nn

from tr2m.registry import MODELS
from tr2m.utils.errors import ConfigError

#: The ``default_hooks`` keys that mmengine's runner lets a config remove with ``None``.
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler',
                          'checkpoint')


def hook_type(hook: Any) -> Optional[str]:
    """The class name a hook config or instance registers (``dict(type='tr2m.SOCMomentumHook')``
    and a ``SOCMomentumHook()`` both give ``'SOCMomentumHook'``); None for None."""
    if hook is None:
        return None
    if isinstance(hook, dict):
        kind = hook.get('type')
        if isinstance(kind, type):
            return kind.__name__
        return str(kind).rsplit('.', 1)[-1]
    return type(hook).__name__


def registered_hooks(cfg) -> List[Tuple[str, str]]:
    """``(config key, hook type)`` of every hook a runner built from ``cfg`` registers besides
    mmengine's implicit ones: the ``default_hooks`` that are not None, then ``custom_hooks``."""
    out = []
    for key, hook in (cfg.get('default_hooks') or {}).items():
        if hook is not None:
            out.append((f'default_hooks.{key}', hook_type(hook)))
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        out.append((f'custom_hooks[{i}]', hook_type(hook)))
    return out


def _component_class(node: Any) -> Optional[type]:
    if isinstance(node, nn.Module):
        return type(node)
    if not isinstance(node, dict):
        return None
    kind = node.get('type')
    if isinstance(kind, type):
        return kind
    if isinstance(kind, str):
        return MODELS.get(kind)
    return None


def required_hooks(model_cfg: Any, prefix: str = 'model') -> Dict[str, List[str]]:
    """``{hook type: [what needs it]}`` over every component of a model config (or built
    module) whose class declares ``REQUIRED_HOOKS``; e.g. ``{'SOCMomentumHook':
    ['model.soc (ScaleOrientedContrast)']}``."""
    needs: Dict[str, List[str]] = {}
    cls = _component_class(model_cfg)
    for name in getattr(cls, 'REQUIRED_HOOKS', ()):
        needs.setdefault(name, []).append(f'{prefix} ({cls.__name__})')
    if isinstance(model_cfg, dict):
        children = [(f'{prefix}.{k}', v) for k, v in model_cfg.items() if k != 'type']
    elif isinstance(model_cfg, (list, tuple)):
        children = [(f'{prefix}[{i}]', v) for i, v in enumerate(model_cfg)]
    elif isinstance(model_cfg, nn.Module):
        children = [(f'{prefix}.{k}', v) for k, v in model_cfg.named_children()]
    else:
        children = []
    for key, child in children:
        for name, users in required_hooks(child, key).items():
            needs.setdefault(name, []).extend(users)
    return needs


def check_required_hooks(cfg) -> None:
    """Raise :class:`~tr2m.utils.errors.ConfigError` (exit code 2 in the tools) unless every
    hook the model's components need is registered exactly once, and no tr2m default hook is
    set to None (mmengine's runner removes only its own default hooks that way and fails on the
    others without a message)."""
    for key, hook in (cfg.get('default_hooks') or {}).items():
        if hook is None and key not in MMENGINE_DEFAULT_HOOKS:
            raise ConfigError(
                f'default_hooks.{key}=None: mmengine removes only its own default hooks '
                f'({", ".join(MMENGINE_DEFAULT_HOOKS)}) with None; switch a tr2m hook off '
                'through its options (LossBalanceHook(interval=0), CaptionEmbeddingHook('
                'loaders=()), SOCShortcutHook(threshold=-1)), and SOCMomentumHook by training '
                'without SOC (model.soc=None)')
    needs = required_hooks(cfg.get('model'))
    hooks = registered_hooks(cfg)
    for name, users in needs.items():
        keys = [key for key, kind in hooks if kind == name]
        if not keys:
            raise ConfigError(
                f'{", ".join(users)} needs {name} but the config registers none (custom_hooks '
                f"replaces its base's list; default_hooks merges by key): add "
                f"default_hooks.<name>=dict(type='{name}') as configs/_base_/default_runtime.py "
                'does, or train without the component (e.g. model.soc=None)')
        if len(keys) > 1:
            raise ConfigError(f'{name} is registered {len(keys)} times ({", ".join(keys)}), so '
                              f'it would run {len(keys)} times per step for {", ".join(users)}; '
                              f'keep {keys[0]} and remove the others')


__all__ = ['check_required_hooks', 'required_hooks', 'registered_hooks', 'hook_type',
           'MMENGINE_DEFAULT_HOOKS']
