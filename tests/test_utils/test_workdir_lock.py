"""One training per work dir (tr2m/utils/workdir_lock.py): a second holder gets one line naming
the work dir and the holder's pid, also from another process; a lock left by a killed process
is taken over; only rank 0 of a distributed run takes it."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tr2m.utils.workdir_lock import LOCK_NAME, WorkDirBusyError, work_dir_lock

REPO = Path(__file__).resolve().parents[2]
HOLD = """import sys, time
from tr2m.utils.workdir_lock import work_dir_lock
with work_dir_lock(sys.argv[1]):
    print('held', flush=True)
    time.sleep(120)
"""


def _holder(work):
    """A process holding the lock of ``work`` (returns once it holds it)."""
    proc = subprocess.Popen([sys.executable, '-c', HOLD, str(work)], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.stdout.readline().strip() == 'held'
    return proc


def test_second_holder_in_this_process_is_refused(tmp_path):
    work = tmp_path / 'work'
    with work_dir_lock(str(work)) as path:
        assert path == str(work / LOCK_NAME)
        text = (work / LOCK_NAME).read_text()
        assert f'pid={os.getpid()}\n' in text and 'host=' in text and 'since=' in text
        with pytest.raises(WorkDirBusyError) as info:
            with work_dir_lock(str(work)):
                pass
        msg = str(info.value)
        assert msg.startswith(f'work dir {work} is in use by another training (pid {os.getpid()}')
        assert '\n' not in msg and '--work-dir' in msg
    assert not (work / LOCK_NAME).exists()  # released and removed
    with work_dir_lock(str(work)):  # and free again
        pass


def test_holder_in_another_process_then_killed(tmp_path):
    work = tmp_path / 'work'
    proc = _holder(work)
    try:
        with pytest.raises(WorkDirBusyError, match=rf'^work dir {work} is in use by another '
                           rf'training \(pid {proc.pid}, since '):
            with work_dir_lock(str(work)):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (work / LOCK_NAME).is_file()  # a kill leaves the file, naming a dead pid
    said = []
    with work_dir_lock(str(work), say=said.append):
        assert f'pid={os.getpid()}\n' in (work / LOCK_NAME).read_text()
    assert said == [f'{work / LOCK_NAME}: taking over the lock of pid {proc.pid}, which has ended']


def test_only_rank_zero_locks(tmp_path, monkeypatch):
    work = tmp_path / 'work'
    with work_dir_lock(str(work)):
        monkeypatch.setenv('RANK', '1')
        with work_dir_lock(str(work)) as path:  # another rank of the same run
            assert path is None


def test_unwritable_work_dir_is_one_line(tmp_path):
    from tr2m.utils.errors import ArgumentError

    (tmp_path / 'file').write_text('x')
    with pytest.raises(ArgumentError, match=r'^work dir .*file/run cannot be written \(.*\): '
                       'pass a writable --work-dir$'):
        with work_dir_lock(str(tmp_path / 'file' / 'run')):
            pass

