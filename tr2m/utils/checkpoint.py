"""Let mmengine checkpoints load with ``torch.load(weights_only=True)`` (torch >= 2.6).

mmengine 0.10.x stores its ``MessageHub`` in every checkpoint: ``HistoryBuffer`` objects holding
numpy arrays, plus numpy scalars. A plain pickle of a ``HistoryBuffer`` also references its
statistics methods through ``getattr``, and allowlisting ``getattr`` would let a crafted file
reach any attribute of any allowed object -- as unsafe as turning weights_only off. So tr2m
pickles ``HistoryBuffer`` through :func:`rebuild_history_buffer` (plain lists in, a buffer out)
and allowlists exactly that function and the numpy reconstruction helpers.
Checkpoints written by tr2m's tools therefore load safely, and a file a user hands us is never
unpickled with weights_only off.

mmengine's loading of local files goes through :func:`load_checkpoint_file`, which says in one line
what is wrong with a missing, empty, torn or unsafe file, and every remote source (URLs,
``torchvision://``, ``open-mmlab://``, ...) through :mod:`tr2m.utils.checkpoint_sources`, which
downloads with tr2m's code and loads the same way; :func:`find_resumable_checkpoint` picks
the newest complete checkpoint of a work dir when ``last_checkpoint`` names a broken one.
"""
import copyreg
import sys
from typing import List, Optional

import torch


def rebuild_history_buffer(log_history: List[float], count_history: List[int],
                           max_length: int):
    """Rebuild a ``HistoryBuffer`` from plain lists (the safe pickle form)."""
    from mmengine.logging import HistoryBuffer

    return HistoryBuffer(list(log_history), list(count_history), max_length)


def _reduce_history_buffer(buf):
    return rebuild_history_buffer, (buf._log_history.tolist(), buf._count_history.tolist(),
                                    buf.max_length)


def _numpy_globals() -> list:
    import numpy as np

    found = [np.ndarray, np.dtype]
    for mod_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        found += [getattr(mod, n) for n in ('_reconstruct', 'scalar') if hasattr(mod, n)]
    # dtype classes (np.dtypes.Float64DType, ...) that pickles of arrays and scalars reference
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return found


def allow_torch() -> None:
    """Allowlist :func:`rebuild_history_buffer` and the numpy helpers for ``weights_only``
    loads (what ``import tr2m`` arranges once torch is imported)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 does not restrict unpickling by default
        return
    add([rebuild_history_buffer, *_numpy_globals()])


def allow_history_buffer() -> None:
    """Pickle mmengine's ``HistoryBuffer`` through :func:`rebuild_history_buffer`."""
    from mmengine.logging import HistoryBuffer

    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)


def allow_mmengine_checkpoints() -> None:
    """Pickle ``HistoryBuffer`` safely and allowlist what mmengine checkpoints contain (all of
    it now; ``import tr2m`` does each part when its module is imported)."""
    allow_history_buffer()
    register_checkpoint_loader()
    allow_torch()


# ---- reading checkpoints: our own messages for missing, empty, torn and unsafe files ---------
def check_checkpoint_file(path: str) -> None:
    """Raise a clear error when ``path`` cannot be a complete checkpoint.

    Raises:
        MissingFileError: the file does not exist.
        CheckpointError: the file is empty, or is not a complete PyTorch zip archive (a save
            that was cut off).
    """
    import os.path as osp
    import zipfile

    from tr2m.utils.errors import CheckpointError, MissingFileError

    if not osp.isfile(path):
        raise MissingFileError(f'checkpoint not found: {path}')
    size = osp.getsize(path)
    if size == 0:
        raise CheckpointError(f'checkpoint {path} is empty (0 bytes): its save was cut off; '
                              'use an earlier checkpoint')
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f'checkpoint {path} ({size} bytes) is not a complete PyTorch '
                              'checkpoint (truncated, or not written by torch.save)')


def _weights_only_detail(err: BaseException) -> str:
    """The line of torch's weights-only error that names the refused object, without torch's
    advice to turn weights_only off."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    advice = ('weights_only', 'Weights only load failed', 'Check the documentation')
    named = [ln for ln in lines if 'GLOBAL' in ln or 'global' in ln]
    named = [ln for ln in named if not any(a in ln for a in advice)] or \
        [ln for ln in lines if not any(a in ln for a in advice)]
    if not named:
        return 'an object outside the allowlist'
    return named[0].replace('WeightsUnpickler error: ', '').rstrip('.')


def torch_load_weights_only(source, name: str, map_location=None):
    """``torch.load(source, weights_only=True)`` (a path or a file object), every failure one
    :class:`CheckpointError` line naming ``name`` (the checkpoint as the user gave it)."""
    import pickle

    from tr2m.utils.errors import CheckpointError

    try:
        return torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f'checkpoint {name} holds an object tr2m does not unpickle '
            f'({_weights_only_detail(err)}): tr2m loads checkpoints with weights_only=True '
            'only, never running code from a file; if you trust its source, load it in your '
            'own code and save its tensors again') from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise CheckpointError(f'cannot read checkpoint {name}: {first} '
                              '(truncated or corrupt?)') from None


def load_checkpoint_file(path: str, map_location=None):
    """``torch.load(path, weights_only=True)`` with one clear line for every way it can fail.

    Raises:
        MissingFileError: no such file.
        CheckpointError: empty, torn or corrupt file, or one holding objects outside the
            allowlist of :func:`allow_mmengine_checkpoints` (it is never unpickled otherwise).
    """
    import os.path as osp

    path = osp.expanduser(path)
    check_checkpoint_file(path)
    return torch_load_weights_only(path, path, map_location)


def load_from_local(filename: str, map_location=None):
    """mmengine's ``CheckpointLoader`` scheme for local paths (runner.load_checkpoint, resume,
    load_checkpoint): :func:`load_checkpoint_file`, with tr2m's messages."""
    return load_checkpoint_file(filename, map_location)


def register_checkpoint_loader() -> None:
    """Route every source of mmengine's ``CheckpointLoader`` (local paths, URLs,
    ``torchvision://``, ``open-mmlab://``, ``mmcls://``, object storage) through a
    ``weights_only=True`` load (:mod:`tr2m.utils.checkpoint_sources`)."""
    from tr2m.utils.checkpoint_sources import register_safe_loaders

    register_safe_loaders()


# ---- finding what to resume from ----------------------------------------------------------
def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a non-empty zip archive whose members all pass their CRC check."""
    import os.path as osp
    import zipfile

    if not osp.isfile(path) or osp.getsize(path) == 0 or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def find_resumable_checkpoint(work_dir: str, logger=None) -> Optional[str]:
    """The checkpoint to resume from: the one ``<work_dir>/last_checkpoint`` names when it is
    complete, else the newest complete ``*.pth`` of the work dir (``best_*`` checkpoints hold no
    optimizer state and are never resumed from), else None.

    A fallback is reported through ``logger`` (or printed), naming the file that was skipped.
    """
    import glob
    import os.path as osp

    say = logger.warning if logger is not None else print
    named = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
        if named is not None and not osp.isabs(named) and not osp.isfile(named):
            named = osp.join(work_dir, osp.basename(named))
        if named is not None and is_complete_checkpoint(named):
            return named
    candidates = [p for p in glob.glob(osp.join(work_dir, '*.pth'))
                  if not osp.basename(p).startswith(('best_', '.'))]
    for path in sorted(candidates, key=lambda p: (osp.getmtime(p), p), reverse=True):
        if is_complete_checkpoint(path):
            if osp.isfile(pointer):
                say(f'{pointer} names {named or "nothing"}, which is missing, empty or torn: '
                    f'resuming from {path}, the newest complete checkpoint')
            return path
    if osp.isfile(pointer):
        say(f'{pointer} names {named or "nothing"}, which is missing, empty or torn, and '
            f'{work_dir} holds no other complete checkpoint')
    return None


def nonfinite_tensors(tree, prefix: str = '') -> List[str]:
    """Dotted names of the floating-point tensors in a nested dict/list that hold NaN or inf."""
    found = []
    if isinstance(tree, torch.Tensor):
        if tree.is_floating_point() and not bool(torch.isfinite(tree).all()):
            found.append(prefix or '<tensor>')
    elif isinstance(tree, dict):
        for key, value in tree.items():
            found += nonfinite_tensors(value, f'{prefix}.{key}' if prefix else str(key))
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            found += nonfinite_tensors(value, f'{prefix}.{i}' if prefix else str(i))
    return found


# Importing this module (torch is imported above) allowlists what tr2m checkpoints hold, and
# pickles HistoryBuffer safely when mmengine's logging is loaded already (else ``import tr2m``
# does it when it is): what ``import tr2m`` arranges once torch is imported.
allow_torch()
if 'mmengine.logging' in sys.modules:
    allow_history_buffer()
