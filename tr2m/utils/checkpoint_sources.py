"""Every checkpoint source mmengine knows, loaded with ``torch.load(weights_only=True)``.

mmengine's ``CheckpointLoader`` picks a loader by the prefix of the path: local files,
``http(s)://``, ``torchvision://`` / ``modelzoo://``, ``open-mmlab://`` / ``openmmlab://``,
``mmcls://``, ``s3://`` / ``petrel://`` and ``pavi://``. Its remote loaders end in
``torch.hub.load_state_dict_from_url``, whose ``weights_only`` defaults to False: a checkpoint
URL in ``load_from``, ``init_cfg`` or ``--resume`` could run any code its pickle names.
:func:`register_safe_loaders` replaces every one of them (``force=True``):

- URLs are downloaded with ``torch.hub.download_url_to_file`` into ``<torch hub dir>/
  checkpoints`` (a name of the form ``name-<sha256 prefix>.ext`` is checked against its hash),
  then opened with tr2m's weights-only load; under DDP the first process of each node downloads
  and the others wait for it;
- ``torchvision://``, ``open-mmlab://`` and ``mmcls://`` names are resolved to URLs with
  mmengine's own tables, then loaded as URLs (an ``open-mmlab://`` name that maps to a file
  under mmengine's home is loaded as a local file);
- ``s3://`` / ``petrel://`` bytes come from ``mmengine.fileio`` and are loaded weights-only;
- any other scheme (``pavi://``, or one a later mmengine adds) is refused in one line: tr2m
  cannot vouch for how it would be read.

Whatever the source, a file holding an object outside tr2m's allowlist is a
:class:`~tr2m.utils.errors.CheckpointError` (one line, exit code 2 in the tools) and is never
unpickled.
"""
import io
import os
import os.path as osp
import re
from typing import Callable, Optional
from urllib.parse import urlparse

from tr2m.utils.errors import CheckpointError, MissingCheckpointError

#: Prefixes of URLs (downloaded).
URL_PREFIXES = ('http://', 'https://')
#: Prefixes resolved to a URL through one of mmengine's model tables.
NAMED_PREFIXES = ('torchvision://', 'modelzoo://', 'open-mmlab://', 'openmmlab://', 'mmcls://')
#: mmengine's object-storage prefixes (regular expressions, as mmengine registers them).
STORAGE_PREFIXES = (r'(\S+\:)?s3://', r'(\S+\:)?petrel://')
#: ``name-<hex>.ext``: the hash prefix torch.hub checks in a downloaded file's name.
_HASH_IN_NAME = re.compile(r'-([a-f0-9]{8,})\.')


def is_remote_checkpoint(path) -> bool:
    """Whether ``path`` names a checkpoint that is not a local file path (a URL or any prefix
    of the form ``scheme://``)."""
    return isinstance(path, str) and re.match(r'^[A-Za-z][\w.+-]*:(\S*:)?//', path) is not None


def checkpoint_cache_dir(model_dir: Optional[str] = None) -> str:
    """Where downloaded checkpoints go: ``model_dir`` or ``<torch.hub.get_dir()>/checkpoints``
    (``$TORCH_HOME/hub/checkpoints``), created if needed."""
    import torch

    folder = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(folder, exist_ok=True)
    return folder


def _download(url: str, model_dir: Optional[str] = None) -> str:
    """Download ``url`` once into the cache (the existing file is reused) and return its path."""
    import torch

    name = osp.basename(urlparse(url).path)
    if not name:
        raise CheckpointError(f'checkpoint URL {url} names no file')
    path = osp.join(checkpoint_cache_dir(model_dir), name)
    if osp.isfile(path):
        return path
    match = _HASH_IN_NAME.search(name)
    try:
        torch.hub.download_url_to_file(url, path, hash_prefix=match.group(1) if match else None,
                                       progress=False)
    except RuntimeError as err:  # torch.hub: 'invalid hash value'
        raise CheckpointError(f'checkpoint URL {url}: {str(err).splitlines()[0]}') from None
    except OSError as err:  # URLError, HTTPError, refused connections, full disk
        reason = getattr(err, 'reason', None) or err
        raise CheckpointError(f'cannot download checkpoint {url}: {reason}') from None
    return path


def download_checkpoint(url: str, model_dir: Optional[str] = None) -> str:
    """Download a checkpoint URL into the cache (see :func:`checkpoint_cache_dir`).

    Under DDP the process with local rank 0 of each node downloads first; the others wait at a
    barrier and then find the file in the cache.

    Raises:
        CheckpointError: the URL cannot be fetched, or its hash (in the name) does not match.
    """
    from mmengine.dist import barrier, get_dist_info

    _, world_size = get_dist_info()
    if world_size == 1:
        return _download(url, model_dir)
    first = int(os.environ.get('LOCAL_RANK', '0')) == 0
    path = _download(url, model_dir) if first else None
    barrier()
    return path or _download(url, model_dir)


def load_downloaded(path: str, name: str, map_location=None):
    """A downloaded (or object-store) checkpoint through tr2m's weights-only load; ``name`` is
    the source the user gave, used in messages."""
    from tr2m.utils.checkpoint import torch_load_weights_only

    return torch_load_weights_only(path, name, map_location)


def load_from_url(filename: str, map_location=None, model_dir: Optional[str] = None):
    """``http(s)://`` loader: download (cached) and load with ``weights_only=True``."""
    return load_downloaded(download_checkpoint(filename, model_dir), filename, map_location)


def _named_url(filename: str) -> str:
    """The URL (or, for open-mmlab, possibly a relative file) a named checkpoint stands for."""
    from mmengine.runner import checkpoint as mm_ckpt

    prefix, _, model_name = filename.partition('://')
    if prefix in ('torchvision', 'modelzoo'):
        table = mm_ckpt.get_torchvision_models()
    elif prefix in ('open-mmlab', 'openmmlab'):
        table = mm_ckpt.get_external_models()
        model_name = mm_ckpt.get_deprecated_model_names().get(model_name, model_name)
    elif prefix == 'mmcls':
        table = mm_ckpt.get_mmcls_models()
    else:
        raise ValueError(f'not a named checkpoint prefix: {filename}')
    if model_name not in table:
        near = sorted(n for n in table if model_name.split('_')[0] in n)[:5]
        hint = f' (known names like it: {", ".join(near)})' if near else ''
        raise MissingCheckpointError(f'checkpoint {filename}: {prefix}:// knows no model '
                                     f'{model_name!r}{hint}')
    return table[model_name]


def load_from_named(filename: str, map_location=None):
    """``torchvision://``, ``modelzoo://``, ``open-mmlab://``, ``openmmlab://`` and
    ``mmcls://`` loader: the name resolved with mmengine's tables, then loaded weights-only."""
    from mmengine.runner import checkpoint as mm_ckpt

    from tr2m.utils.checkpoint import load_checkpoint_file

    url = _named_url(filename)
    if url.startswith(URL_PREFIXES):
        checkpoint = load_downloaded(download_checkpoint(url), filename, map_location)
    else:  # open-mmlab names may map to a file under mmengine's home
        checkpoint = load_checkpoint_file(osp.join(mm_ckpt._get_mmengine_home(), url),
                                          map_location)
    if filename.startswith('mmcls://'):
        checkpoint = mm_ckpt._process_mmcls_checkpoint(checkpoint)
    return checkpoint


def load_from_storage(filename: str, map_location=None):
    """``s3://`` / ``petrel://`` loader: bytes through ``mmengine.fileio``, loaded weights-only."""
    from mmengine.fileio import get

    try:
        data = get(filename)
    except Exception as err:  # the storage client's own errors
        raise CheckpointError(f'cannot read checkpoint {filename}: '
                              f'{str(err).splitlines()[0] if str(err) else type(err).__name__}'
                              ) from None
    return load_downloaded(io.BytesIO(data), filename, map_location)


def _refusing_loader(prefix: str) -> Callable:
    def load_from_refused(filename: str, map_location=None):
        raise CheckpointError(
            f'checkpoint {filename}: tr2m does not load checkpoints through {prefix!r} (it '
            'cannot make that source load with weights_only=True); download the file and pass '
            'its local path')
    return load_from_refused


def register_safe_loaders() -> None:
    """Replace every scheme of mmengine's ``CheckpointLoader`` with a weights-only loader:
    local paths (:func:`tr2m.utils.checkpoint.load_checkpoint_file`), URLs, named models and
    object storage as in the module docstring; any other registered scheme refuses."""
    from mmengine.runner.checkpoint import CheckpointLoader

    from tr2m.utils.checkpoint import load_from_local

    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    CheckpointLoader.register_scheme(prefixes=list(URL_PREFIXES), loader=load_from_url,
                                     force=True)
    CheckpointLoader.register_scheme(prefixes=list(NAMED_PREFIXES), loader=load_from_named,
                                     force=True)
    CheckpointLoader.register_scheme(prefixes=list(STORAGE_PREFIXES), loader=load_from_storage,
                                     force=True)
    ours = {load_from_local, load_from_url, load_from_named, load_from_storage}
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if loader not in ours and getattr(loader, '__name__', '') != 'load_from_refused':
            CheckpointLoader.register_scheme(prefixes=prefix, loader=_refusing_loader(prefix),
                                             force=True)


__all__ = ['is_remote_checkpoint', 'checkpoint_cache_dir', 'download_checkpoint',
           'load_from_url', 'load_from_named', 'load_from_storage', 'register_safe_loaders',
           'URL_PREFIXES', 'NAMED_PREFIXES', 'STORAGE_PREFIXES']
