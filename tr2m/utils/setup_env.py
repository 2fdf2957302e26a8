"""Import every registering module and set the default scope."""
import importlib


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import tr2m's components so the registries know them; optionally set scope 'tr2m'."""
    for name in ('tr2m.datasets', 'tr2m.engine', 'tr2m.evaluation', 'tr2m.models',
                 'tr2m.visualization', 'tr2m.cache', 'tr2m.captioners'):
        importlib.import_module(name)
    if init_default_scope:
        from mmengine.registry import DefaultScope
        from mmengine.registry import init_default_scope as _init

        if DefaultScope.get_current_instance() is None or \
                DefaultScope.get_current_instance().scope_name != 'tr2m':
            _init('tr2m')
