"""A first run that explains itself: ``tools/train.py configs/tr2m_da_s.py`` with no data and no
weights prints ONE message listing all four missing datasets with their prepare commands,
exits with code 2 within seconds, and never touches the network; user mistakes end in one line
and exit code 2, the traceback only under ``--debug``."""
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tr2m.utils import cli
from tr2m.utils.errors import ConfigError, DatasetNotPreparedError, MissingFileError, UserError

REPO = Path(__file__).resolve().parents[2]
PAPER = str(REPO / 'configs' / 'tr2m_da_s.py')
#: Imported first by every Python process below: records and refuses any network connection.
NO_NETWORK = """
import os, socket
_log = os.environ['TR2M_TEST_NET_LOG']
def _refuse(*args, **kwargs):
    with open(_log, 'a') as f:
        f.write(repr(args[:2]) + '\\n')
    raise OSError('network disabled by the test')
socket.socket.connect = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


@pytest.fixture
def offline_env(tmp_path):
    """Environment of a user without data, weights or network: a fresh cwd, an empty HF cache,
    the hub NOT switched to offline mode (a download would be attempted), sockets refused."""
    site = tmp_path / 'site'
    site.mkdir()
    (site / 'sitecustomize.py').write_text(NO_NETWORK)
    env = {k: v for k, v in os.environ.items()
           if k not in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'TR2M_RANDOM_INIT')}
    env.update(PYTHONPATH=str(site), TR2M_TEST_NET_LOG=str(tmp_path / 'net.log'),
               HF_HOME=str(tmp_path / 'hf'), TORCH_HOME=str(tmp_path / 'torch'),
               XDG_CACHE_HOME=str(tmp_path / 'cache'), OMP_NUM_THREADS='1')
    cwd = tmp_path / 'user'
    cwd.mkdir()
    return env, cwd, tmp_path / 'net.log'


def _run(args, env, cwd):
    """``(completed process, wall seconds, CPU seconds)`` of one tool run."""
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    return proc, wall, cpu


def test_train_paper_config_without_data_lists_every_dataset(offline_env):
    env, cwd, net_log = offline_env
    proc, wall, cpu = _run([str(REPO / 'tools' / 'train.py'), PAPER], env, cwd)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr
    assert err.count('error:') == 1 and 'Traceback' not in err  # a single message
    assert proc.stdout == ''  # nothing was logged: no runner, no model
    tools = REPO / 'tools' / 'dataset_converters'
    for name, command in [
            ('NYUv2', f'python {tools}/prepare_nyu.py --out data/nyu --splits-from '
                      'data/rsa_text/data_splits'),
            ('KITTI', f'python {tools}/prepare_kitti.py --out data/kitti --splits-from '
                      'data/rsa_text/data_splits'),
            ('VOID', f'python {tools}/prepare_void.py --zip void_1500.zip --out data/void'),
            ('C3VD', f'python {tools}/prepare_c3vd.py --src'),
            ('RSA captions', f'python {tools}/prepare_rsa_text.py --out data/rsa_text')]:
        line = next((ln for ln in err.splitlines() if ln.strip().startswith(name)), None)
        assert line is not None, (name, err)
        assert command in line and '(train, val)' in line
    assert err.splitlines()[0].startswith('train.py: error: ') and \
        'reads 4 datasets and 1 caption set that are not prepared' in err.splitlines()[0]
    assert not net_log.exists(), net_log.read_text()  # no download was even attempted
    # the imports only: ~4 s of CPU (6 s wall) on the project's 2-core machine; the wall
    # clock is left loose because the test machines are shared
    assert cpu < 15, (cpu, wall)


def test_check_runs_before_any_model_is_built(load_tool, tmp_path, monkeypatch):
    train = load_tool('tools/train.py')
    from tr2m.registry import MODELS

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(MODELS, 'build', lambda *a, **k: pytest.fail('a model was built'))
    with pytest.raises(DatasetNotPreparedError) as err:
        train.main([PAPER])
    names = [p['name'] for p in err.value.problems]
    assert names == ['RSA captions', 'NYUv2', 'KITTI', 'VOID', 'C3VD']
    assert [p['phases'] for p in err.value.problems] == [['train', 'val']] * 5


def test_user_mistakes_are_one_line_exit_2(offline_env, load_tool, capsys, monkeypatch):
    env, cwd, _ = offline_env
    tools = REPO / 'tools'
    monkeypatch.setattr(sys, 'argv', ['test.py'])
    cases = [
        ([str(tools / 'train.py'), str(REPO / 'configs' / 'tr2m_da_z.py')],
         'config not found: ', 'did you mean '),
        ([str(tools / 'test.py'), PAPER, 'none', '--cfg-options', 'train_cfg.max_epoch=3'],
         "unknown config key 'train_cfg.max_epoch'", 'did you mean train_cfg.max_epochs?'),
    ]
    for args, message, hint in cases:
        proc = _run(args, env, cwd)[0]
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert message in lines[0] and hint in lines[0]
        assert lines[0].count('did you mean') == 1
    assert lines[0].count('train_cfg.max_epochs') == 1  # each suggestion listed once
    # in-process: a missing checkpoint, and --debug giving the exception itself
    test = load_tool('tools/test.py')
    with pytest.raises(SystemExit) as done:
        cli.run(test.main, [PAPER, str(cwd / 'nope.pth')])
    assert done.value.code == 2
    assert capsys.readouterr().err.strip() == f'test.py: error: checkpoint not found: ' \
        f'{cwd / "nope.pth"}'
    with pytest.raises(MissingFileError):
        cli.run(test.main, [str(REPO / 'configs' / 'tr2m_da_z.py'), 'none', '--debug'])


def test_cli_run_contract(capsys, monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['tool.py'])

    def raises(exc):
        def main(argv):
            raise exc
        return main

    with pytest.raises(SystemExit) as done:
        cli.run(raises(ConfigError('unknown config key x')), [])
    assert done.value.code == 2
    assert capsys.readouterr().err == 'tool.py: error: unknown config key x\n'
    with pytest.raises(SystemExit) as done:  # older tools' SystemExit('message')
        cli.run(raises(SystemExit('bad grid')), [])
    assert done.value.code == 2 and capsys.readouterr().err == 'tool.py: error: bad grid\n'
    with pytest.raises(SystemExit) as done:  # an exit code stays what it is
        cli.run(raises(SystemExit(3)), [])
    assert done.value.code == 3
    with pytest.raises(MissingFileError):  # --debug: the exception itself
        cli.run(raises(MissingFileError('x')), ['--debug'])
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        cli.run(raises(ZeroDivisionError('bug')), [])
    assert cli.run(lambda argv: 42, []) == 42
    assert issubclass(MissingFileError, (UserError, FileNotFoundError))
