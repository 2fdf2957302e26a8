"""Names of a module imported on first use (PEP 562), so that importing the module stays cheap.

A tool's ``--help`` and argument errors answer before torch and the models are imported, yet
the tool module still offers the library names it always did (``tool.IMG_EXTS``,
``tool.load_models``: tests and callers use them)::

    _LIBRARY = LazyNames(globals(), {'IMG_EXTS': 'tr2m.apis.infer_inputs',
                                     'read_captions': 'tr2m.apis.infer_inputs:match_captions'})
    __getattr__, __dir__ = _LIBRARY.getattr, _LIBRARY.dir

    def main(argv=None):
        args = parse_args(argv)     # nothing heavy imported yet
        _LIBRARY.bind()             # now the functions below may use IMG_EXTS, read_captions

Module-level ``__getattr__`` is only asked by attribute access from outside (``tool.name``);
code inside the module finds a name in its globals, hence :meth:`LazyNames.bind`. Only the
standard library is used here.
"""
import importlib
from typing import Any, Dict, List


class LazyNames:
    """The lazily imported names of one module.

    Args:
        namespace: the module's ``globals()``; an imported name is stored there (so it is
            imported once, and a name set there first, e.g. by a test's ``monkeypatch``, wins).
        names: ``{name: 'module'}`` (the module's attribute of that name) or
            ``{name: 'module:attribute'}`` (another attribute, bound under ``name``).
    """

    def __init__(self, namespace: Dict[str, Any], names: Dict[str, str]) -> None:
        self.namespace = namespace
        self.names = dict(names)

    def _import(self, name: str) -> Any:
        module, _, attribute = self.names[name].partition(':')
        value = getattr(importlib.import_module(module), attribute or name)
        self.namespace[name] = value
        return value

    def getattr(self, name: str) -> Any:
        """The module's ``__getattr__``: import ``name`` (an AttributeError for other names)."""
        if name not in self.names:
            raise AttributeError(
                f'module {self.namespace.get("__name__")!r} has no attribute {name!r}')
        return self._import(name)

    def dir(self) -> List[str]:
        """The module's ``__dir__``: its globals and the names not imported yet."""
        return sorted(set(self.namespace) | set(self.names))

    def bind(self) -> None:
        """Import every name not in the module's globals yet (names already there are kept)."""
        for name in self.names:
            if name not in self.namespace:
                self._import(name)


__all__ = ['LazyNames']
