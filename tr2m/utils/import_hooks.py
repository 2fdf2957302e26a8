"""Run a function right after a module is imported, without importing it now.

``import tr2m`` must stay cheap (a tool's ``--help`` answers before torch is imported), yet
loading a tr2m checkpoint with ``torch.load(weights_only=True)`` must work as soon as torch is
there. :func:`after_import` registers a callback for a module name: called at once when the
module is already imported, else by a ``sys.meta_path`` finder right after the module's code has
run (whoever imports it, whenever). Only the standard library is used here.
"""
import importlib.abc
import sys
import warnings
from typing import Callable, Dict, List


class _AfterImportFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of a watched module so the callbacks run after
    its code."""

    def __init__(self) -> None:
        self.callbacks: Dict[str, List[Callable[[], None]]] = {}

    def find_spec(self, name, path=None, target=None):
        if name not in self.callbacks:
            return None
        callbacks = self.callbacks.pop(name)
        spec = None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        if spec is None or spec.loader is None or not hasattr(spec.loader, 'exec_module'):
            self.callbacks.setdefault(name, []).extend(callbacks)  # not found: try next time
            return spec
        exec_module = spec.loader.exec_module

        def run_then_call(module):
            exec_module(module)
            for callback in callbacks:
                _call(callback, name)

        spec.loader.exec_module = run_then_call  # this spec's loader only
        return spec


def _call(callback: Callable[[], None], name: str) -> None:
    try:
        callback()
    except Exception as err:  # noqa: BLE001 -- never break the user's import
        warnings.warn(f'tr2m: set-up after importing {name} failed: {err!r}', stacklevel=3)


_FINDER = _AfterImportFinder()


def after_import(name: str, callback: Callable[[], None]) -> None:
    """Call ``callback()`` once module ``name`` is imported (now, when it already is)."""
    if name in sys.modules:
        _call(callback, name)
        return
    _FINDER.callbacks.setdefault(name, []).append(callback)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


__all__ = ['after_import']
