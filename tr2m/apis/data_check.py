"""Check that every dataset a config reads is prepared, before anything is built or loaded.

``check_datasets(cfg, ('train', 'val'))`` walks the dataset configs of the named dataloaders
(through ``ConcatDataset`` / ``dataset`` wrappers), works out the folders and files each one
reads -- ``data_root``, the split file (``ann_file``, or the class's ``DEFAULT_SPLITS``), the
image and depth folders, the caption tree or JSON -- and raises ONE
:class:`~tr2m.utils.errors.DatasetNotPreparedError` that lists every dataset with something
missing, each with the ``tools/dataset_converters`` command that prepares it. Nothing is
downloaded, no dataset is instantiated and no model is built, so the check takes well under a
second once the imports are done. It does not open the files a split lists (the dataset does
that, and names a missing one itself).
"""
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Sequence

from tr2m.utils.errors import DatasetNotPreparedError

_PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))  # tr2m/
_CLONE_CONVERTERS = osp.join(osp.dirname(_PACKAGE), 'tools', 'dataset_converters')
_SHIPPED_CONVERTERS = osp.join(_PACKAGE, '.mim', 'tools', 'dataset_converters')
#: The converters folder of this clone, or the copy a wheel ships (``tr2m/.mim/tools``).
CONVERTERS_DIR = _SHIPPED_CONVERTERS if not osp.isdir(_CLONE_CONVERTERS) and \
    osp.isdir(_SHIPPED_CONVERTERS) else _CLONE_CONVERTERS
#: ``{dataset class: (name shown, command that prepares it)}``; ``{root}`` is the data root.
PREPARE_COMMANDS: Dict[str, tuple] = {
    'NYUv2Dataset': ('NYUv2', 'python {tools}/prepare_nyu.py --out {root} '
                              '--splits-from data/rsa_text/data_splits'),
    'KITTIDataset': ('KITTI', 'python {tools}/prepare_kitti.py --out {root} '
                              '--splits-from data/rsa_text/data_splits'),
    'VOIDDataset': ('VOID', 'python {tools}/prepare_void.py --zip void_1500.zip --out {root} '
                            '--splits-from data/rsa_text/data_splits/void'),
    'C3VDDataset': ('C3VD', 'python {tools}/prepare_c3vd.py --src <folder of the downloaded '
                            'sequences> --out {root}'),
    'SUNRGBDDataset': ('SUN RGB-D', 'python {tools}/prepare_sunrgbd.py --out {root}'),
    'IBims1Dataset': ('iBims-1', 'python {tools}/prepare_ibims.py --out {root}'),
    'HyperSimDataset': ('HyperSim', 'python {tools}/prepare_hypersim.py --out {root}'),
    'DIODEDataset': ('DIODE', 'python {tools}/prepare_diode.py --out {root}'),
    'SimColDataset': ('SimCol3D', 'python {tools}/prepare_simcol.py --src <folder of the '
                                  'SyntheticColon_*.zip> --out {root}'),
    'DepthFolderDataset': ('your frames', 'put them in {root}/rgb and {root}/depth '
                                          '(README, Your own RGB-D frames)'),
    'DepthManifestDataset': ('manifest', 'python {tools}/make_manifest.py ... --out <manifest> '
                                         '(README, Your own RGB-D frames)'),
}
#: The demo set's manifest dataset gets its own command.
SYNTHETIC_COMMAND = 'python {tools}/make_synthetic_rgbd.py {root}'
RSA_COMMAND = 'python {tools}/prepare_rsa_text.py --out {root}'
JSON_CAPTIONS_COMMAND = ('python {tools}/captions_to_json.py --txt-root <your captions> '
                         '--out {path}')
#: Dataloaders of each phase.
PHASES = dict(train='train_dataloader', val='val_dataloader', test='test_dataloader')


def converters_path() -> str:
    """``tools/dataset_converters`` as the user would type it from the current folder."""
    cwd = os.getcwd()
    if CONVERTERS_DIR.startswith(cwd + os.sep):
        return osp.relpath(CONVERTERS_DIR, cwd)
    return CONVERTERS_DIR


def _nodes(cfg: Any) -> Iterable[dict]:
    """Every leaf dataset config under ``cfg`` (wrappers are walked, not returned)."""
    if not isinstance(cfg, dict):
        return
    if isinstance(cfg.get('datasets'), (list, tuple)):
        for sub in cfg['datasets']:
            yield from _nodes(sub)
    elif isinstance(cfg.get('dataset'), dict):
        yield from _nodes(cfg['dataset'])
    else:
        yield cfg


def _join(root: str, path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def _dataset_class(name: Any):
    if not isinstance(name, str):
        return name if isinstance(name, type) else None
    from tr2m.registry import DATASETS

    return DATASETS.get(name)


def required_paths(node: dict) -> List[tuple]:
    """``[(path, 'dir' | 'file')]`` that dataset config ``node`` reads (its split list's
    entries aside), in the order a user would create them."""
    cls = _dataset_class(node.get('type'))
    name = cls.__name__ if cls is not None else str(node.get('type'))
    root = node.get('data_root') or ''
    if name == 'DepthManifestDataset':
        return [(_join(root, node.get('ann_file') or ''), 'file')]
    needed = [(root, 'dir')] if root else []
    if name == 'DepthFolderDataset':
        needed.append((_join(root, node.get('img_dir', 'rgb')), 'dir'))
        return needed
    splits = getattr(cls, 'DEFAULT_SPLITS', None) or {}
    default = splits.get(node.get('split', 'test'), {})
    ann_file = node.get('ann_file', default.get('ann_file', ''))
    if ann_file:
        needed.append((_join(root, ann_file), 'file'))
    prefix = dict(default.get('data_prefix', {}))
    prefix.update(node.get('data_prefix') or {})
    for folder in dict.fromkeys(v for v in prefix.values() if v):
        needed.append((_join(root, folder), 'dir'))
    return needed


def caption_paths(node: dict, label: str = '') -> List[tuple]:
    """``[(path, kind, group, command, root)]`` of the caption files a dataset config reads
    (``label``: the dataset's name, for JSON captions; ``root``: what the command creates)."""
    source = node.get('caption_source')
    if not isinstance(source, dict):
        return []
    kind = source.get('type')
    if kind == 'RSACaptionSource':
        root = source.get('root', '')
        path = osp.join(root, source.get('dataset', ''), source.get('split', ''))
        parts = osp.normpath(root).split(os.sep)
        out = osp.join(*parts[:-2]) if len(parts) > 2 and parts[-2:] == ['text', 'text_all'] \
            else 'data/rsa_text'
        return [(path, 'dir', 'RSA captions', RSA_COMMAND.format(
            tools=converters_path(), root=out), out)]
    if kind == 'JSONCaptionSource':
        path = source.get('ann_file', '')
        return [(path, 'file', f'{label} captions'.strip(), JSON_CAPTIONS_COMMAND.format(
            tools=converters_path(), path=path), path)]
    return []


def _missing(path: str, kind: str) -> bool:
    return not (osp.isdir(path) if kind == 'dir' else osp.isfile(path))


def find_unprepared(cfg: Any, phases: Sequence[str] = ('train', 'val', 'test')) -> List[dict]:
    """What :func:`check_datasets` would report: one dict per dataset or caption set with
    ``name``, ``root``, ``phases`` (where it is used), ``missing`` (paths), ``captions``
    (whether it is a caption set) and ``command``."""
    problems: OrderedDict[tuple, dict] = OrderedDict()
    for phase in phases:
        if phase not in PHASES:
            raise ValueError(f'unknown phase {phase!r}; valid: {list(PHASES)}')
        loader = cfg.get(PHASES[phase]) if hasattr(cfg, 'get') else None
        if not isinstance(loader, dict):
            continue
        for node in _nodes(loader.get('dataset')):
            cls = _dataset_class(node.get('type'))
            type_name = cls.__name__ if cls is not None else str(node.get('type'))
            root = node.get('data_root') or ''
            label, command = PREPARE_COMMANDS.get(type_name, (type_name, None))
            if type_name == 'DepthManifestDataset' and osp.basename(
                    osp.normpath(root or '.')) == 'synthetic':
                label, command = 'demo set', SYNTHETIC_COMMAND
            entries = [((type_name, root), label, root, path, kind, command, False)
                       for path, kind in required_paths(node)]
            entries += [((group, where), group, where, path, kind, cmd, True)
                        for path, kind, group, cmd, where in caption_paths(node, label)]
            for key, label, where, path, kind, command, is_caption in entries:
                if not _missing(path, kind):
                    continue
                entry = problems.setdefault(key, dict(
                    name=label, root=where, phases=[], missing=[], captions=is_caption,
                    command=None if command is None else command.format(
                        tools=converters_path(), root=where or '<data_root>')))
                if phase not in entry['phases']:
                    entry['phases'].append(phase)
                if path not in entry['missing']:
                    entry['missing'].append(path)
    # the caption sets first: NYUv2/KITTI/VOID read their split lists from RSA's release
    return sorted(problems.values(), key=lambda p: p['name'] != 'RSA captions')


def _top_missing(path: str, root: str) -> str:
    """The outermost missing folder between ``root`` and ``path`` (``data/nyu`` for
    ``data/nyu/splits/x.txt`` when ``data/nyu`` does not exist)."""
    root = osp.normpath(root) if root else ''
    top = osp.normpath(path)
    while top != root and osp.dirname(top) and not osp.exists(osp.dirname(top)) \
            and (not root or top.startswith(root + os.sep)):
        top = osp.dirname(top)
    return top


def _describe(missing: List[str], root: str) -> str:
    """What is missing: a missing folder stands for everything inside it."""
    shown = list(dict.fromkeys(_top_missing(p, root) for p in missing))
    more = f' (and {len(shown) - 1} more)' if len(shown) > 1 else ''
    return f'{shown[0]} missing{more}'


def format_problems(problems: List[dict], config_name: Optional[str] = None) -> str:
    """The message :func:`check_datasets` raises (one line per dataset)."""
    n_caps = sum(p['captions'] for p in problems)
    n_data = len(problems) - n_caps
    what = ' and '.join(s for s in (
        f'{n_data} dataset{"s" * (n_data != 1)}' if n_data else '',
        f'{n_caps} caption set{"s" * (n_caps != 1)}' if n_caps else '') if s)
    verb = 'is' if len(problems) == 1 else 'are'
    lines = [f'{config_name or "the config"} reads {what} that {verb} not prepared '
             '(nothing was loaded or downloaded):']
    for p in problems:
        command = p['command'] or 'see tools/dataset_converters/README.md'
        where = _describe(p['missing'], p['root'])
        lines.append(f"  {p['name']} ({', '.join(p['phases'])}): {where} -> {command}")
    lines.append(f'Paths are relative to {os.getcwd()}; layouts and downloads: '
                 f'{converters_path()}/README.md')
    return '\n'.join(lines)


def check_datasets(cfg: Any, phases: Sequence[str] = ('train', 'val', 'test'),
                   config_name: Optional[str] = None) -> None:
    """Raise one error listing every unprepared dataset of ``cfg``'s ``phases`` dataloaders.

    Args:
        cfg (Config | dict): the merged config.
        phases (Sequence[str]): dataloaders to check: ``'train'``, ``'val'``, ``'test'``.
        config_name (str, optional): shown in the message. Defaults to ``cfg.filename``.

    Raises:
        DatasetNotPreparedError: something is missing; ``err.problems`` lists it.
    """
    problems = find_unprepared(cfg, phases)
    if problems:
        name = config_name or getattr(cfg, 'filename', None)
        if name and osp.isabs(name) and name.startswith(os.getcwd() + os.sep):
            name = osp.relpath(name)
        raise DatasetNotPreparedError(format_problems(problems, name), problems)


__all__ = ['check_datasets', 'find_unprepared', 'format_problems', 'required_paths',
           'PREPARE_COMMANDS']
