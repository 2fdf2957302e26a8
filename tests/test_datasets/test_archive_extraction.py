"""The prepare_*.py tools refuse a crafted archive (a symlink to an outside folder, then a file
through it) in one line with exit code 2, and nothing is written outside --out."""
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import prepare_diode
import prepare_void
import pytest

from tr2m.utils import cli

REPO = Path(__file__).resolve().parents[2]


def _evil_tar(path, outside, first='ok.txt'):
    with tarfile.open(path, 'w') as tf:
        info = tarfile.TarInfo(first)
        info.size = 1
        tf.addfile(info, io.BytesIO(b'x'))
        link = tarfile.TarInfo('link')
        link.type, link.linkname = tarfile.SYMTYPE, str(outside)
        tf.addfile(link)
        info = tarfile.TarInfo('link/FILE')
        info.size = 5
        tf.addfile(info, io.BytesIO(b'pwned'))
    return path


def test_prepare_ibims_refuses_the_link_escape(tmp_path):
    outside = tmp_path / 'outside'
    outside.mkdir()
    evil = _evil_tar(tmp_path / 'evil.tar', outside)
    env = dict(os.environ, TR2M_OFFLINE='1', OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / 'tools/dataset_converters/prepare_ibims.py'),
                           '--zip', str(evil), '--out', str(tmp_path / 'out')],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = proc.stderr.strip()
    assert '\n' not in err, err
    assert err.startswith(f"prepare_ibims.py: error: archive {evil}: member 'link' is a "
                          f'symbolic link (to {str(outside)!r}); nothing was extracted')
    assert list(outside.iterdir()) == []
    assert not any(p.is_file() for p in (tmp_path / 'out').rglob('*'))


@pytest.mark.parametrize('tool,option', [(prepare_diode, '--archive'), (prepare_void, '--zip')])
def test_other_prepare_tools_refuse_links_in_zip_and_tar(tmp_path, capsys, tool, option):
    outside = tmp_path / 'outside'
    outside.mkdir()
    evil = tmp_path / 'evil.zip'
    with zipfile.ZipFile(evil, 'w') as zf:
        info = zipfile.ZipInfo('void_1500/link')
        info.create_system, info.external_attr = 3, (0o120777 << 16)
        zf.writestr(info, str(outside))
        zf.writestr('../escape.txt', 'x')
    with pytest.raises(SystemExit) as exit_info:
        cli.run(tool.main, [option, str(evil), '--out', str(tmp_path / 'out')], prog='prepare')
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "member 'void_1500/link' is a symbolic link" in err and '\n' not in err
    assert list(outside.iterdir()) == [] and not (tmp_path / 'escape.txt').exists()
