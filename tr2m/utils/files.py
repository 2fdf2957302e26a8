"""Files the user hands us or lets us write, with one clear line for each way they fail.

- :func:`read_text`: a text file that must be UTF-8 (caption files, manifests, split lists);
  other bytes are a :class:`~tr2m.utils.errors.DataError` naming the file and the offset,
  instead of a ``UnicodeDecodeError`` without a file name.
- :func:`load_json`: the same, then JSON; a syntax error names the file, line and column.
- :func:`check_writable_dir`: a folder we are about to write into (work dir, output folder),
  tested by writing before anything heavy is built; a read-only or full file system, a file
  in the way or a missing permission is an :class:`~tr2m.utils.errors.ArgumentError` naming the
  argument. Nothing is left behind: a folder that did not exist is not created by the check.
- :func:`disk_full_message` / :func:`is_disk_full`: the one line for a write that ran out of
  space (``ENOSPC`` / ``EDQUOT``), naming the file, for the tools' top level.

Only the standard library: the tools call these before torch is imported.
"""
import errno
import json
import os
import os.path as osp
import tempfile
from typing import Any, Optional

from tr2m.utils.errors import ArgumentError, DataError

#: ``errno`` values of a full disk or an exhausted quota.
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def read_text(path: str, what: str = 'file') -> str:
    """The text of ``path``, decoded as UTF-8 (a BOM is dropped).

    Args:
        path (str): the file.
        what (str): what the file is, for the message (``'caption file'``, ``'manifest'``).
            Defaults to 'file'.

    Raises:
        DataError: the file is not UTF-8 (the message names it and the first bad byte).
    """
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        return raw.decode('utf-8-sig')
    except UnicodeDecodeError as err:
        bad = raw[err.start:err.start + 1].hex()
        raise DataError(f'{what} {path} is not UTF-8 text (byte 0x{bad} at offset {err.start}): '
                        'save it as UTF-8') from None


def load_json(path: str, what: str = 'JSON file') -> Any:
    """``json.loads(read_text(path))`` with the file named in every error.

    Raises:
        DataError: not UTF-8, or not valid JSON (line and column of the first error).
    """
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f'{what} {path} is not valid JSON (line {err.lineno}, column '
                        f'{err.colno}: {err.msg})') from None


def _nearest_existing(path: str) -> str:
    path = osp.abspath(path)
    while not osp.exists(path):
        parent = osp.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def check_writable_dir(path: str, what: str) -> None:
    """Fail now, in one line, when files cannot be written into the folder ``path``.

    The folder itself, or (when it does not exist yet) its nearest existing parent, is tested
    by creating and removing a temporary file there: the real test whatever the permission
    bits say (root ignores them; a read-only mount does not). A folder that does not exist is
    not created.

    Args:
        path (str): the folder.
        what (str): the argument or key that names it, for the message (``'--out-dir'``,
            ``'work_dir'``).

    Raises:
        ArgumentError: a file is in the way, or the folder (or its parent) is not writable
            (read-only file system, no permission, no space).
    """
    existing = _nearest_existing(path)
    if not osp.isdir(existing):
        raise ArgumentError(f'{what} {path}: {existing} is a file, not a folder')
    try:
        fd, probe = tempfile.mkstemp(prefix='.tr2m_write_test_', dir=existing)
    except OSError as err:
        where = '' if existing == osp.abspath(path) else f' (its parent {existing} exists)'
        raise ArgumentError(f'{what} {path}: cannot write there{where}: '
                            f'{err.strerror or err}') from None
    os.close(fd)
    os.remove(probe)


def check_checkpoint_exists(checkpoint: Optional[str]) -> None:
    """A named checkpoint file that does not exist, told before anything is imported or built
    (``None`` / ``'none'`` pass).

    Raises:
        MissingCheckpointError: no such file (the ``.pth`` files of its folder named).
    """
    from tr2m.utils.checkpoint_sources import is_remote_checkpoint
    from tr2m.utils.errors import MissingCheckpointError

    if checkpoint is None or str(checkpoint).lower() == 'none' or \
            is_remote_checkpoint(checkpoint):  # a URL or named source: fetched and checked later
        return
    path = osp.expanduser(str(checkpoint))
    if not osp.isfile(path):
        folder = osp.dirname(path) or '.'
        near = sorted(n for n in os.listdir(folder) if n.endswith('.pth'))[:5] \
            if osp.isdir(folder) else []
        hint = f' ({folder} holds {", ".join(near)})' if near else ''
        raise MissingCheckpointError(f'checkpoint not found: {checkpoint}{hint}')


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` (or what it was raised from) is a full disk or an exhausted quota."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS:
            return True
        text = str(err)
        if 'No space left on device' in text or 'Disk quota exceeded' in text:
            return True
        err = err.__cause__ or err.__context__
    return False


def disk_full_message(err: BaseException, hint: Optional[str] = None) -> str:
    """One line for a write that ran out of space: the file (when known), the file system's
    free space, and ``hint`` (what was kept, how to go on)."""
    filename = None
    cur, seen = err, set()
    while cur is not None and id(cur) not in seen and filename is None:
        seen.add(id(cur))
        filename = getattr(cur, 'filename', None)
        cur = cur.__cause__ or cur.__context__
    where = f' writing {filename}' if filename else ''
    free = ''
    if filename:
        try:
            st = os.statvfs(_nearest_existing(osp.dirname(osp.abspath(str(filename)))))
            free = f' ({st.f_bavail * st.f_frsize / 2**20:.1f} MiB free there)'
        except OSError:
            pass
    msg = f'no space left on the device{where}{free}'
    return f'{msg}; {hint}' if hint else f'{msg}: free some space and run again'


__all__ = ['read_text', 'load_json', 'check_writable_dir', 'check_checkpoint_exists',
           'is_disk_full', 'disk_full_message', 'DISK_FULL_ERRNOS']
