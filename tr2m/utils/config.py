"""Strict config overrides: an unknown key is an error naming the closest existing keys."""
import difflib
from typing import Any, Dict

from mmengine.config import Config, ConfigDict


def _children(node: Any):
    if isinstance(node, dict):
        return list(node.keys())
    if isinstance(node, (list, tuple)):
        return [str(i) for i in range(len(node))]
    return []


def check_keys_exist(cfg: Config, options: Dict[str, Any]) -> None:
    """Raise ``KeyError`` if a dotted key of ``options`` does not exist in ``cfg``.

    ``model.neck.num_heads`` may set a key the config does not spell out only if ...it exists:
    a typo like ``model.nek`` is caught here instead of silently creating a new key, as
    mmengine's ``merge_from_dict`` would.
    """
    for dotted in options:
        node: Any = cfg._cfg_dict if isinstance(cfg, Config) else cfg
        walked = []
        for part in dotted.split('.'):
            keys = _children(node)
            if part not in keys:
                near = difflib.get_close_matches(part, keys, n=3, cutoff=0.5)
                where = '.'.join(walked) or '<root>'
                hint = f'; did you mean {", ".join(".".join(walked + [n]) for n in near)}?' \
                    if near else f'; keys there: {sorted(keys)[:20]}'
                raise KeyError(f'unknown config key {dotted!r}: {where} has no {part!r}{hint}')
            node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
            walked.append(part)


def merge_options_strict(cfg: Config, options: Dict[str, Any]) -> Config:
    """``cfg.merge_from_dict(options)`` after :func:`check_keys_exist`."""
    if options:
        check_keys_exist(cfg, options)
        cfg.merge_from_dict(options)
    return cfg


__all__ = ['check_keys_exist', 'merge_options_strict', 'ConfigDict']
