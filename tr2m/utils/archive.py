"""Extract a zip or tar archive without letting it write outside the output folder.

A dataset archive is data: regular files and folders. :func:`safe_extract` checks every
member it will extract before it writes anything and refuses, in one line naming the archive
and the member,

- symbolic links and hard links (a tar holding ``link -> /somewhere`` and then ``link/FILE``
  would otherwise write ``/somewhere/FILE``), device files, FIFOs and any other special member;
  zip members whose Unix mode (the high 16 bits of ``external_attr``) is not a regular file or
  a folder;
- absolute names (``/x``, ``C:/x``, ``\\x``) and names with a ``..`` component (``/`` or ``\\``
  separated);
- any name that resolves, through what already exists in the output folder, to a place outside
  it.

Tar archives are then extracted with Python's ``'data'`` filter (``tarfile.data_filter``, which
re-checks all of the above and drops set-uid bits); zip archives with ``ZipFile.extract``.
"""
import os
import os.path as osp
import re
import stat
import tarfile
import zipfile
from typing import Iterable, List, Optional

from tr2m.utils.errors import DataError

_DRIVE = re.compile(r'^[A-Za-z]:')


class UnsafeArchiveError(DataError):
    """An archive member that is a link, a device or a path outside the output folder."""


def _refuse(archive: str, name: str, why: str) -> None:
    raise UnsafeArchiveError(f'archive {archive}: member {name!r} {why}; nothing was extracted '
                             '(tr2m extracts only regular files and folders inside the output '
                             'folder)')


def check_member_name(archive: str, name: str, dst: str) -> None:
    """Refuse an absolute name, a ``..`` component or a name resolving outside ``dst``."""
    if name.startswith(('/', '\\')) or _DRIVE.match(name):
        _refuse(archive, name, 'escapes the output folder (an absolute path)')
    if '..' in re.split(r'[\\/]+', name):
        _refuse(archive, name, "escapes the output folder (a '..' component)")
    root = osp.realpath(dst)
    target = osp.realpath(osp.join(root, name))
    if target != root and not target.startswith(root + os.sep):
        _refuse(archive, name, f'escapes the output folder (it resolves to {target})')


def _tar_kind(info: tarfile.TarInfo) -> Optional[str]:
    """What is wrong with a tar member's type, or None for a regular file or folder."""
    if info.issym():
        return f'is a symbolic link (to {info.linkname!r})'
    if info.islnk():
        return f'is a hard link (to {info.linkname!r})'
    if info.ischr() or info.isblk():
        return 'is a device file'
    if info.isfifo():
        return 'is a FIFO'
    if not (info.isfile() or info.isdir()):
        return f'is a special member (tar type {info.type!r})'
    return None


def _zip_kind(info: zipfile.ZipInfo) -> Optional[str]:
    """What is wrong with a zip member's Unix mode, or None (no mode, a file or a folder)."""
    mode = info.external_attr >> 16
    if info.create_system != 3 or stat.S_IFMT(mode) == 0:  # no file type recorded (not made on
        return None                                          # Unix, or Python's writestr)
    if stat.S_ISLNK(mode):
        return 'is a symbolic link'
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return 'is a device file'
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return 'is a FIFO or socket'
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return f'has an unknown file type (mode {mode:o})'
    return None


def safe_extract(archive: str, dst: str, members: Optional[Iterable[str]] = None) -> List[str]:
    """Extract ``archive`` (zip or tar, compressed or not) into ``dst`` after checking every
    member (see the module docstring).

    Args:
        archive (str): the archive file.
        dst (str): output folder (created).
        members (iterable of str, optional): extract only these member names. Defaults to None
            (all).

    Returns:
        list of str: the names extracted.

    Raises:
        UnsafeArchiveError: a link, device or special member, or a name outside ``dst``
            (nothing has been written then).
        DataError: not a zip or tar archive, or a corrupt one.
    """
    wanted = None if members is None else set(members)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if wanted is None or i.filename in wanted]
            for info in infos:
                kind = _zip_kind(info)
                if kind:
                    _refuse(archive, info.filename, kind)
                check_member_name(archive, info.filename, dst)
            os.makedirs(dst, exist_ok=True)
            for info in infos:
                zf.extract(info, dst)
            return [i.filename for i in infos]
    if tarfile.is_tarfile(archive):
        try:
            with tarfile.open(archive) as tf:
                infos = [m for m in tf.getmembers() if wanted is None or m.name in wanted]
                for info in infos:
                    kind = _tar_kind(info)
                    if kind:
                        _refuse(archive, info.name, kind)
                    check_member_name(archive, info.name, dst)
                os.makedirs(dst, exist_ok=True)
                tf.extractall(dst, infos, filter='data')
                return [m.name for m in infos]
        except tarfile.FilterError as err:  # the data filter's own refusal (a second guard)
            raise UnsafeArchiveError(f'archive {archive}: {err}') from None
        except (tarfile.ReadError, EOFError) as err:
            raise DataError(f'archive {archive} is corrupt or truncated: {err}') from None
    raise DataError(f'not a zip or tar archive (or a corrupt one): {archive}')


__all__ = ['safe_extract', 'check_member_name', 'UnsafeArchiveError']
