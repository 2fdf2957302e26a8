"""Config loading for the tools: strict overrides (an unknown key is an error naming the closest
existing keys) and user mistakes raised as :mod:`tr2m.utils.errors` classes."""
import ast
import copy
import difflib
import functools
import glob
import importlib.util
import inspect
import os.path as osp
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from mmengine.config import Config, ConfigDict

from tr2m.utils.errors import ConfigError, MissingFileError


def _children(node: Any):
    if isinstance(node, dict):
        return list(node.keys())
    if isinstance(node, (list, tuple)):
        return [str(i) for i in range(len(node))]
    return []


def _source_roots() -> List[Path]:
    roots = [Path(__file__).resolve().parents[1]]  # tr2m/
    spec = importlib.util.find_spec('mmengine')
    if spec is not None and spec.submodule_search_locations:
        roots += [Path(p) for p in spec.submodule_search_locations]
    return roots


@functools.cache
def _class_sources() -> Dict[str, List[Path]]:
    """``{class name: [files defining it]}`` over tr2m's and mmengine's sources (text only)."""
    found: Dict[str, List[Path]] = {}
    pattern = re.compile(r'^class (\w+)\b', re.M)
    for root in _source_roots():
        for path in root.rglob('*.py'):
            try:
                text = path.read_text(encoding='utf-8')
            except (OSError, UnicodeDecodeError):
                continue
            for name in pattern.findall(text):
                found.setdefault(name, []).append(path)
    return found


@functools.cache
def _static_init_params(name: str, depth: int = 0) -> Optional[tuple]:
    """Constructor arguments of class ``name`` read from its source (tr2m or mmengine) without
    importing anything, following the bases while ``__init__`` takes ``**kwargs``; None when the
    source cannot settle it (a class outside them, defined twice, or built dynamically)."""
    files = _class_sources().get(name, [])
    if len(files) != 1 or depth > 8:
        return None
    tree = ast.parse(files[0].read_text(encoding='utf-8'))
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    if len(classes) != 1:
        return None
    cls = classes[0]
    bases = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute)
             else None for b in cls.bases]
    init = next((n for n in cls.body if isinstance(n, ast.FunctionDef)
                 and n.name == '__init__'), None)
    if init is None:  # inherited: from its one base (several: the MRO decides, so import)
        if not bases or bases == ['object']:
            return ()
        return _static_init_params(bases[0], depth + 1) if len(bases) == 1 and bases[0] \
            else None
    args = init.args
    params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg != 'self']
    if args.kwarg is not None:  # **kwargs passed on: the bases' arguments count too
        for base in bases:
            if base in (None, 'object'):
                continue
            more = _static_init_params(base, depth + 1)
            if more is None:
                return None
            params += list(more)
    return tuple(dict.fromkeys(params))


def _init_params(node: Any) -> list:
    """Constructor arguments of the class a ``dict(type=...)`` node builds (empty if unknown).

    Read from the source when that settles it (no import: a typo in a key is reported in a
    fraction of a second), else from the registered class itself."""
    if not isinstance(node, dict) or not isinstance(node.get('type'), (str, type)):
        return []
    if isinstance(node['type'], str):
        static = _static_init_params(node['type'])
        if static is not None:
            return list(static)
    from mmengine.registry import DefaultScope

    from tr2m import registry

    cls = node['type']
    if isinstance(cls, str):
        scope = DefaultScope.get_current_instance()
        nodes = [getattr(registry, n) for n in dir(registry) if n.isupper()]
        with DefaultScope.overwrite_default_scope(scope.scope_name if scope else 'tr2m'):
            cls = next((c for c in (r.get(node['type']) for r in nodes) if c is not None), None)
    if cls is None:
        return []
    params = []
    for klass in getattr(cls, '__mro__', [cls]):
        init = getattr(klass, '__init__', None)
        try:
            sig = inspect.signature(init)
        except (TypeError, ValueError):
            continue
        params += [n for n, p in sig.parameters.items()
                   if n != 'self' and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            break  # no **kwargs: the parents' arguments cannot be passed through
    return list(dict.fromkeys(params))  # a parameter of several classes in the MRO once


def check_keys_exist(cfg: Config, options: Dict[str, Any]) -> None:
    """Raise :class:`~tr2m.utils.errors.ConfigError` (a ``KeyError``) if a dotted key of
    ``options`` does not exist in ``cfg``.

    A key may also be an argument of the class a ``dict(type=...)`` node builds, left at its
    default by the config (``model.scale_head.global_pool``). A typo like ``model.nek`` is
    caught here instead of silently creating a new key, as mmengine's ``merge_from_dict`` would.
    """
    for dotted in options:
        node: Any = cfg._cfg_dict if isinstance(cfg, Config) else cfg
        walked = []
        for part in dotted.split('.'):
            keys = _children(node)
            if part not in keys and part in _init_params(node):
                break  # a constructor argument the config leaves at its default
            if part not in keys:
                keys = list(dict.fromkeys(keys + _init_params(node)))  # each name once
                near = difflib.get_close_matches(part, keys, n=3, cutoff=0.5)
                where = '.'.join(walked) or '<root>'
                hint = f'; did you mean {", ".join(".".join(walked + [n]) for n in near)}?' \
                    if near else f'; keys there: {sorted(keys)[:20]}'
                raise ConfigError(f'unknown config key {dotted!r}: {where} has no {part!r}{hint}')
            node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
            walked.append(part)


def _registry_nodes() -> list:
    from tr2m import registry

    return [getattr(registry, n) for n in dir(registry)
            if n.isupper() and hasattr(getattr(registry, n), 'get')]


def _registered_names(nodes) -> List[str]:
    names = set()
    for node in nodes:
        while node is not None:
            names.update(node.module_dict)
            node = node.parent
    return sorted(names)


def _type_nodes(node: Any, path: str = ''):
    """``(dotted path, type name)`` of every ``dict(type='Name', ...)`` in a config tree."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield (f'{path}.type' if path else 'type'), node['type']
        for key, value in node.items():
            if key != 'type':
                yield from _type_nodes(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _type_nodes(value, f'{path}.{i}' if path else str(i))


def check_registry_types(cfg: Config) -> None:
    """Raise :class:`~tr2m.utils.errors.ConfigError` when a ``type`` of the config names no
    registered class or function (a typo like ``CrossModalAttentionNek``), before anything is
    built; mmengine would raise a ``KeyError`` deep inside the runner's build.

    Every ``dict(type='Name')`` of the config is looked up in tr2m's registries (and, through
    them, mmengine's); a name found in any of them passes (which registry builds it is the
    builder's business). A ``scope.Name`` type is looked up as mmengine does.
    """
    from mmengine.registry import DefaultScope
    from torch import nn

    from tr2m.utils.setup_env import register_all_modules

    register_all_modules(init_default_scope=False)
    nodes = _registry_nodes()
    scope = DefaultScope.get_current_instance()
    tree = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    unknown = []
    with DefaultScope.overwrite_default_scope(scope.scope_name if scope else 'tr2m'):
        for where, name in _type_nodes(tree.to_dict() if hasattr(tree, 'to_dict') else tree):
            if not any(node.get(name) is not None for node in nodes) and \
                    not isinstance(getattr(nn, name, None), type):  # act_cfg: a torch.nn class
                unknown.append((where, name))
    if unknown:
        where, name = unknown[0]
        near = difflib.get_close_matches(name.rpartition('.')[2], _registered_names(nodes),
                                         n=3, cutoff=0.75)
        hint = f'; did you mean {", ".join(near)}?' if near else \
            ' (is it spelled right, and is the module that registers it in custom_imports?)'
        more = f' ({len(unknown) - 1} more unknown type(s))' if len(unknown) > 1 else ''
        source = f'config {cfg.filename}: ' if getattr(cfg, 'filename', None) else ''
        raise ConfigError(f'{source}unknown type {name!r} at {where}{hint}{more}')


def _positive_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _non_negative_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _non_negative_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0


#: ``(dotted key, what it must be, test)``: values checked when the config is loaded, before
#: anything is built (mmengine would fail deep inside the runner, or train zero epochs).
VALUE_RULES = [
    ('train_cfg.max_epochs', 'a positive integer', _positive_int),
    ('train_cfg.max_iters', 'a positive integer', _positive_int),
    ('train_cfg.val_interval', 'a positive integer', _positive_int),
    ('train_cfg.val_begin', 'a positive integer', _positive_int),
    *[(f'{split}_dataloader.{key}', what, test) for split in ('train', 'val', 'test')
      for key, what, test in (('batch_size', 'a positive integer', _positive_int),
                              ('num_workers', "an integer >= 0 or 'auto'",
                               lambda v: v == 'auto' or _non_negative_int(v)),
                              ('pin_memory', "True, False or 'auto'",
                               lambda v: v == 'auto' or isinstance(v, bool)))],
    # lr 0 is a real baseline (frozen heads; tests/test_tools/test_ablate.py), a negative one not
    ('optim_wrapper.optimizer.lr', 'a number >= 0', _non_negative_number),
    ('optim_wrapper.optimizer.weight_decay', 'a number >= 0', _non_negative_number),
    ('optim_wrapper.accumulative_counts', 'a positive integer', _positive_int),
    ('default_hooks.logger.interval', 'a positive integer', _positive_int),
    ('default_hooks.checkpoint.interval', 'a positive integer (or -1: never)',
     lambda v: v == -1 or _positive_int(v)),
    ('randomness.seed', 'an integer or None', lambda v: v is None or _non_negative_int(v)),
]


def check_values(cfg: Config) -> None:
    """Raise :class:`~tr2m.utils.errors.ConfigError` when a value of :data:`VALUE_RULES` has
    the wrong type or range (``--cfg-options train_cfg.max_epochs=abc`` or ``=0``), naming the
    key, the value and what it must be."""
    tree = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    source = f'config {cfg.filename}: ' if getattr(cfg, 'filename', None) else ''
    for dotted, what, test in VALUE_RULES:
        node: Any = tree
        for part in dotted.split('.'):
            node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
            if node is _MISSING:
                break
        if node is not _MISSING and not test(node):
            raise ConfigError(f'{source}{dotted}={node!r} ({type(node).__name__}): must be '
                              f'{what}')


_MISSING = object()


def merge_options_strict(cfg: Config, options: Dict[str, Any]) -> Config:
    """``cfg.merge_from_dict(options)`` after :func:`check_keys_exist`."""
    if options:
        check_keys_exist(cfg, options)
        cfg.merge_from_dict(options)
    return cfg


def config_roots() -> List[Path]:
    """The folders shipped configs are looked up in, in order: ``configs/`` of the clone the
    package runs from (an editable install or ``PYTHONPATH``), then the configs a wheel ships
    inside the package (``tr2m/.mim/configs``, where OpenMMLab's ``mim`` keeps them)."""
    package = Path(__file__).resolve().parents[1]  # tr2m/
    roots = [package.parent / 'configs', package / '.mim' / 'configs']
    return [r for r in roots if r.is_dir()]


def find_config(path: str) -> Optional[str]:
    """Where the config ``path`` is: itself when it exists, else a shipped config of that name.

    A path that does not exist from the current folder is looked up in :func:`config_roots`,
    with or without a leading ``configs/`` and with or without ``.py``, so
    ``configs/quickstart/tr2m_synthetic.py``, ``quickstart/tr2m_synthetic.py`` and
    ``quickstart/tr2m_synthetic`` name the same shipped file from any folder.

    Args:
        path (str): a config path or name, as the user typed it.

    Returns:
        str or None: the file to read, or None when there is no such config.
    """
    if osp.isfile(path):
        return path
    if osp.isabs(path):
        return None
    rel = Path(path)
    if rel.parts and rel.parts[0] == 'configs':
        rel = Path(*rel.parts[1:])
    names = [rel] if rel.suffix == '.py' else [rel.with_name(rel.name + '.py'), rel]
    for root in config_roots():
        for name in names:
            if (root / name).is_file():
                return str(root / name)
    return None


def similar_configs(path: str, n: int = 3) -> List[str]:
    """Config files whose path resembles ``path`` (for "did you mean"), each listed once.

    Candidates are the ``.py`` files under ``configs/`` of the current folder and under the
    nearest existing parent folder of ``path``; when none of those resembles ``path``, the
    shipped configs (:func:`config_roots`), named as :func:`find_config` accepts them
    (``quickstart/tr2m_synthetic.py``).
    """
    roots = ['configs']
    parent = osp.dirname(osp.abspath(path))
    while parent and not osp.isdir(parent):
        parent = osp.dirname(parent)
    if parent:
        roots.append(parent)
    candidates: List[str] = []
    for root in roots:
        candidates += glob.glob(osp.join(root, '**', '*.py'), recursive=True)
    style = osp.abspath if osp.isabs(path) else osp.relpath  # answer as the user asked
    found = {style(c): None for c in candidates if '_base_' not in c.split(osp.sep)}
    near = difflib.get_close_matches(style(path), list(found), n=n, cutoff=0.6)
    if near or osp.isabs(path):
        return near
    shipped = {}
    for root in config_roots():
        for c in root.rglob('*.py'):
            if '_base_' not in c.relative_to(root).parts:
                shipped.setdefault(c.relative_to(root).as_posix(), None)
    return difflib.get_close_matches(path, list(shipped), n=n, cutoff=0.6)


def read_config(path: str) -> Config:
    """``Config.fromfile(path)`` with the user's mistakes as one-line errors.

    A path that does not exist from the current folder may name a shipped config
    (:func:`find_config`).

    Raises:
        MissingFileError: no such file (naming similar config files).
        ConfigError: the file (or one of its ``_base_`` files) cannot be read or run.
    """
    found = find_config(path)
    if found is None:
        near = similar_configs(path)
        hint = f'; did you mean {", ".join(near)}?' if near else ''
        raise MissingFileError(f'config not found: {path}{hint}')
    path = found
    try:
        return Config.fromfile(path)
    except SyntaxError as err:
        where = f' (line {err.lineno})' if err.lineno else ''
        raise ConfigError(f'config {path} is not valid Python{where}: {err.msg}') from err
    except FileNotFoundError as err:
        missing = err.filename or err
        raise ConfigError(f'config {path}: a file it inherits or reads does not exist: '
                          f'{missing}') from err
    except (NameError, KeyError, ImportError, AttributeError, TypeError, ValueError) as err:
        raise ConfigError(f'config {path} cannot be loaded: {type(err).__name__}: {err}') \
            from err


def run_python_file(path: str, what: str) -> dict:
    """Run a Python file the user wrote (a grid or comparison file) and return its names;
    a mistake in it is one line naming the file (and line), not a traceback.

    Like a config, the file runs with the user's rights: only open files you trust.

    Raises:
        MissingFileError: no such file.
        ConfigError: a syntax error, or an exception while it runs.
    """
    import runpy

    if not osp.isfile(path):
        raise MissingFileError(f'{what} not found: {path}')
    try:
        return runpy.run_path(path)
    except SyntaxError as err:
        where = f' (line {err.lineno})' if err.lineno else ''
        raise ConfigError(f'{what} {path} is not valid Python{where}: {err.msg}') from None
    except Exception as err:  # noqa: BLE001 -- any mistake in the user's file
        tb = err.__traceback__
        line = None
        while tb is not None:
            if osp.abspath(tb.tb_frame.f_code.co_filename) == osp.abspath(path):
                line = tb.tb_lineno
            tb = tb.tb_next
        where = f' (line {line})' if line else ''
        first = str(err).splitlines()[0] if str(err) else ''
        raise ConfigError(f'{what} {path} fails when run{where}: {type(err).__name__}: '
                          f'{first}') from None


def load_config(config: Union[str, Config], cfg_options: Optional[Dict[str, Any]] = None,
                work_dir: Optional[str] = None, launcher: str = 'none') -> Config:
    """Read a config (a path, or a ``Config`` that is copied), apply strict overrides, and
    settle ``work_dir`` and ``launcher``.

    ``work_dir`` wins over the config's; without either it is ``work_dirs/<config name>``.
    The config is returned as written: a config with ``cache=dict(root=...)`` trains from the
    frozen-feature cache once :func:`tr2m.cache.apply_feature_cache` has switched it (what
    ``tools/train.py`` and ``tools/test.py`` do after loading).

    Raises:
        MissingFileError: the config file does not exist (a ``FileNotFoundError``).
        ConfigError: it cannot be read, an override names an unknown key (a ``KeyError``), or
            a ``type`` names nothing registered (:func:`check_registry_types`).
    """
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, str):
        cfg = read_config(config)
    else:
        raise TypeError(f'config must be a path or a Config, got {type(config).__name__}')
    merge_options_strict(cfg, cfg_options or {})
    check_values(cfg)  # max_epochs=abc or =0: one line now, not deep inside the runner
    check_registry_types(cfg)  # a misspelt type: one line now, not a KeyError in the build
    cfg.launcher = launcher
    if work_dir:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.basename(cfg.filename) if cfg.filename else 'config'
        cfg.work_dir = osp.join('work_dirs', osp.splitext(name)[0])
    return cfg


__all__ = ['check_keys_exist', 'check_registry_types', 'check_values', 'VALUE_RULES',
           'merge_options_strict', 'load_config', 'read_config', 'run_python_file',
           'similar_configs', 'find_config', 'config_roots', 'ConfigDict']
