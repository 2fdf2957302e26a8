"""One training per work dir: ``<work_dir>/.train.lock``.

Two trainings writing one work dir would interleave their checkpoints, ``last_checkpoint`` and
logs, and a later ``--resume`` would pick up a mixture. :func:`work_dir_lock` holds an
exclusive ``flock`` on ``<work_dir>/.train.lock`` for the whole training and writes the holder
(pid, host, start time) into it; a second training on the same work dir ends in one line naming
the work dir and the holder's pid (exit code 2 in the tools). The kernel drops the lock when its
process dies, however it dies, so a lock left by a killed run (a dead pid) is simply taken over,
with a line saying so. On a file system without ``flock`` the pid is checked instead (on this
host; a lock of another host is respected). Under DDP only the process of global rank 0 takes
the lock (the ranks of one run share the work dir).
"""
import contextlib
import errno
import os
import os.path as osp
import socket
import time
from typing import Iterator, Optional

from tr2m.utils.errors import ArgumentError, UserError

LOCK_NAME = '.train.lock'


class WorkDirBusyError(UserError):
    """Another training holds the work dir."""


def _read_holder(path: str) -> dict:
    try:
        with open(path) as f:
            fields = dict(line.split('=', 1) for line in f.read().splitlines() if '=' in line)
    except OSError:
        return {}
    return fields


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _holder_text(holder: dict) -> str:
    pid = holder.get('pid', '?')
    host = holder.get('host')
    since = holder.get('since')
    return (f'pid {pid}' + (f' on {host}' if host and host != socket.gethostname() else '')
            + (f', since {since}' if since else ''))


def _busy(work_dir: str, holder: dict) -> WorkDirBusyError:
    return WorkDirBusyError(
        f'work dir {work_dir} is in use by another training ({_holder_text(holder)}); wait for '
        'it to end or stop it, or pass another --work-dir')


def _is_rank_zero() -> bool:
    for var in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if os.environ.get(var) not in (None, ''):
            return int(os.environ[var]) == 0
    return True


@contextlib.contextmanager
def work_dir_lock(work_dir: str, say=print) -> Iterator[Optional[str]]:
    """Hold the training lock of ``work_dir`` within the block (see the module docstring).

    Args:
        work_dir (str): the run's work dir (created if needed).
        say (callable): where the take-over of a stale lock is reported. Defaults to print.

    Yields:
        str | None: the lock file (None on ranks other than 0).

    Raises:
        WorkDirBusyError: another live training holds the work dir.
        ArgumentError: the work dir cannot be created or written.
    """
    if not _is_rank_zero():
        yield None
        return
    path = osp.join(work_dir, LOCK_NAME)
    fd, previous = _open_locked(work_dir, path)
    try:
        if previous.get('pid') and previous.get('host') in (None, socket.gethostname()) and \
                int(previous['pid']) != os.getpid():
            say(f'{path}: taking over the lock of pid {previous["pid"]}, which has ended')
        os.ftruncate(fd, 0)
        os.pwrite(fd, (f'pid={os.getpid()}\nhost={socket.gethostname()}\n'
                       f'since={time.strftime("%Y-%m-%d %H:%M:%S")}\n').encode(), 0)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)  # still holding the lock: nobody reads a half-released file
    finally:
        os.close(fd)  # releases the flock


def _open_locked(work_dir: str, path: str):
    """Open and lock ``path``; ``(fd, the holder it named before)``. Retried when the file was
    unlinked by its previous holder between our open and our lock."""
    for _ in range(5):
        try:
            os.makedirs(work_dir, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise ArgumentError(f'work dir {work_dir} cannot be written ({err.strerror or err})'
                                ': pass a writable --work-dir') from None
        try:
            previous = _read_holder(path)
            _acquire(fd, path, work_dir, previous)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd, previous
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # we locked a file its holder had just removed: open the new one
    raise WorkDirBusyError(f'work dir {work_dir}: cannot take {path} (it keeps changing)')


def _acquire(fd: int, path: str, work_dir: str, previous: dict) -> None:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        raise _busy(work_dir, _read_holder(path) or previous) from None
    except OSError as err:
        if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise
    # no flock on this file system: the pid decides (a lock of another host is respected)
    pid, host = previous.get('pid'), previous.get('host')
    if pid and pid.isdigit() and int(pid) != os.getpid():
        if host not in (None, socket.gethostname()) or _pid_alive(int(pid)):
            raise _busy(work_dir, previous)


__all__ = ['work_dir_lock', 'WorkDirBusyError', 'LOCK_NAME']
