"""The ``tr2m`` command (tr2m/cli/main.py) and the package a wheel installs: the console
script, the shipped configs found by name from any folder."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tr2m.cli import main as tr2m_main
from tr2m.utils.config import find_config, read_config
from tr2m.utils.errors import MissingFileError

REPO = Path(__file__).resolve().parents[2]


def test_help_lists_every_command_and_each_has_its_script(capsys):
    tr2m_main.main(['--help'])
    out = capsys.readouterr().out
    for name, (script, _) in tr2m_main.COMMANDS.items():
        assert f'  {name} ' in out
        assert (REPO / 'tools' / script).is_file(), script


def test_unknown_command_is_one_line_with_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        tr2m_main.main(['trian', 'x.py'])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "tr2m: error: unknown command 'trian'; did you mean 'train'? (tr2m --help " \
        'lists them)'


def test_a_command_runs_the_tool_with_its_own_errors(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        tr2m_main.main(['fetch_test_data', '--check', '--dest', str(tmp_path / 'none')])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith('tr2m fetch_test_data: error: 2291 test files')
    with pytest.raises(SystemExit) as info:  # a tool script without a tr2m.cli module
        tr2m_main.main(['train', 'no/such/config.py'])
    assert info.value.code == 2
    assert 'tr2m train: error: config not found: no/such/config.py' in capsys.readouterr().err


def test_a_command_leaves_the_callers_argv_as_it_was(capsys, monkeypatch):
    """The dispatcher names the tool ``tr2m <command>`` in ``sys.argv`` only while it runs: a
    caller in the same process (a test, a notebook) later sees its own ``sys.argv`` again, and a
    tool it then runs names itself by its own script."""
    monkeypatch.setattr(sys, 'argv', ['caller.py', '--x'])
    with pytest.raises(SystemExit):
        tr2m_main.main(['train', 'no/such/config.py'])
    assert sys.argv == ['caller.py', '--x']


def test_shipped_configs_are_found_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    want = REPO / 'configs' / 'quickstart' / 'tr2m_synthetic.py'
    for name in ('configs/quickstart/tr2m_synthetic.py', 'quickstart/tr2m_synthetic.py',
                 'quickstart/tr2m_synthetic'):
        assert Path(find_config(name)) == want
    assert read_config('quickstart/tr2m_synthetic').model.type == 'TR2M'
    assert find_config('quickstart/nope') is None
    with pytest.raises(MissingFileError, match='did you mean quickstart/tr2m_synthetic.py'):
        read_config('quickstart/tr2m_synthetc')  # shipped configs suggested by name
    local = tmp_path / 'configs' / 'quickstart' / 'tr2m_synthetic.py'
    local.parent.mkdir(parents=True)
    local.write_text("_base_ = []\nmodel = dict(type='Mine')\n")
    assert find_config('configs/quickstart/tr2m_synthetic.py') == \
        'configs/quickstart/tr2m_synthetic.py'  # a local file wins


@pytest.mark.slow
def test_the_wheel_ships_the_configs_tools_and_entry_point(tmp_path):
    """``pip wheel --no-deps .`` (in a copy of the sources; no download: the build uses this
    environment's setuptools) holds the package, the configs and tools under tr2m/.mim, the
    test-data pins, and the console script ``tr2m``; no test or project files."""
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('setup.py', 'MANIFEST.in', 'README.md'):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info')
    for name in ('requirements', 'tr2m', 'configs', 'tools'):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    env = dict(os.environ, PIP_NO_INDEX='1')
    out = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                          '--no-build-isolation', '-q', '-w', str(tmp_path / 'dist'), '.'],
                         cwd=src, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    wheel, = (tmp_path / 'dist').glob('tr2m-*.whl')
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names
                            if n.endswith('.dist-info/entry_points.txt'))
        metadata = next(z.read(n).decode() for n in names if n.endswith('.dist-info/METADATA'))
    assert '[console_scripts]\ntr2m = tr2m.cli.main:main' in entry_points
    shipped = {str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*.py')}
    assert shipped and {f'tr2m/.mim/{p}' for p in shipped} <= names
    assert 'tr2m/.mim/tools/train.py' in names and 'tr2m/.mim/tools/quickstart.sh' in names
    assert 'tr2m/cli/main.py' in names and 'tr2m/utils/test_data_files/pins.json' in names
    assert not any(n.startswith(('tests/', 'projects/')) for n in names)
    requires = [ln.split(': ', 1)[1] for ln in metadata.splitlines()
                if ln.startswith('Requires-Dist: ')]
    runtime = [r for r in requires if 'extra ==' not in r]
    assert not any(r.startswith(('pytest', 'ruff', 'inflect')) for r in runtime), runtime
    assert any(r.startswith('pytest') and "extra == \"dev\"" in r for r in requires)
    extras = {ln.split(': ', 1)[1] for ln in metadata.splitlines()
              if ln.startswith('Provides-Extra: ')}
    assert extras == {'dev', 'captions', 'demo', 'export', 'hub', 'all'}
