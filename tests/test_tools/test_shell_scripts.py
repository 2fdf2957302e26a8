"""The shell scripts of tools/: ``--help`` answers at once (exit 0, nothing started), and the
environment set-up (tools/setup_env.sh) installs only what its stamp says is missing."""
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((REPO / 'tools').glob('*.sh'))


@pytest.mark.parametrize('script', SCRIPTS, ids=lambda p: p.name)
def test_help_prints_usage_and_starts_nothing(script, tmp_path):
    out = subprocess.run(['bash', str(script), '--help'], cwd=tmp_path, capture_output=True,
                         text=True, timeout=30, env=dict(os.environ, WORK_DIR=str(tmp_path / 'w')))
    assert out.returncode == 0, out.stderr
    assert f'tools/{script.name}' in out.stdout or 'bash ' in out.stdout
    assert not out.stdout.startswith('!') and 'set -e' not in out.stdout
    assert list(tmp_path.iterdir()) == []  # no work dir, no environment, no data


def test_quickstart_refuses_an_unknown_argument(tmp_path):
    out = subprocess.run(['bash', str(REPO / 'tools/quickstart.sh'), '--bogus'], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "unknown argument '--bogus'" in out.stderr


def _fake_venv(root: Path) -> Path:
    """A venv whose python logs ``-m pip ...`` calls instead of running pip."""
    bin_dir = root / 'bin'
    bin_dir.mkdir(parents=True)
    real = Path(sys.base_prefix) / 'bin' / 'python3'  # the base interpreter: quick to start
    (bin_dir / 'python').write_text(
        '#!/usr/bin/env bash\n'
        f'if [ "$1" = -m ] && [ "$2" = pip ]; then echo "$*" >> "{root}/pip.log"; exit 0; fi\n'
        f'exec {real} "$@"\n')
    (bin_dir / 'python').chmod((bin_dir / 'python').stat().st_mode | stat.S_IEXEC)
    (bin_dir / 'activate').write_text(f'PATH="{bin_dir}:$PATH"\n')
    return root


def _setup(venv: Path, extras: str) -> str:
    cmd = f'. tools/setup_env.sh && tr2m_setup_env "{extras}"'
    env = dict(os.environ, TR2M_VENV=str(venv), TR2M_TORCH_INDEX='http://127.0.0.1:9/none')
    env.pop('TR2M_NO_SETUP', None)
    out = subprocess.run(['bash', '-c', cmd], cwd=REPO, capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    log = venv / 'pip.log'
    calls = log.read_text() if log.exists() else ''
    log.unlink(missing_ok=True)
    return calls


def test_setup_installs_what_the_stamp_lacks_and_nothing_after(tmp_path):
    venv = _fake_venv(tmp_path / 'venv')
    first = _setup(venv, 'dev')
    assert '-m pip install -q -e .[dev]' in first
    stamp = (venv / '.tr2m-stamp').read_text().split()
    assert stamp[1] == 'dev' and len(stamp[0]) == 16
    assert _setup(venv, 'dev') == ''  # up to date: starts at once
    assert _setup(venv, '') == ''  # fewer extras than installed: nothing to do
    more = _setup(venv, 'captions')  # a new extra: installed beside the old ones
    assert '-e .[dev,captions]' in more
    assert (venv / '.tr2m-stamp').read_text().split()[1] == 'dev,captions'
    (venv / '.tr2m-stamp').write_text('0123456789abcdef dev,captions\n')  # requirements changed
    assert '-e .[dev,captions]' in _setup(venv, 'dev')
