"""Ground-floor helpers. ``allow_mmengine_checkpoints`` (torch) is imported on first use, so
that importing ``tr2m.utils`` (every tool's ``cli``) does not load torch."""
from .setup_env import register_all_modules


def __getattr__(name: str):
    if name == 'allow_mmengine_checkpoints':
        from .checkpoint import allow_mmengine_checkpoints

        return allow_mmengine_checkpoints
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['allow_mmengine_checkpoints', 'register_all_modules']
