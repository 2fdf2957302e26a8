"""A SIGTERM during training (what SLURM sends before preemption) saves a checkpoint and ends
the run cleanly (exit 0, one line naming the checkpoint); ``--resume`` then ends where an
uninterrupted run ends. A real SIGTERM from outside hits a training subprocess; a SIGTERM the
process sends itself at a chosen iteration checks the exact resume in process."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tr2m.utils.errors import TrainingInterrupted

from .conftest import REPO, max_weight_diff, short_run, weights

HELPERS = REPO / 'tests' / 'test_engine'
EPOCHS = 4  # 6 images, batch 4: 2 iterations per epoch, 8 in all


def _child_config(tmp_path, tiny_config, hooks: str):
    path = tmp_path / 'preempt_cfg.py'
    path.write_text(f"""_base_ = [{str(tiny_config)!r}]
custom_imports = dict(imports=['_preemption_helpers'], allow_failed_imports=False)
custom_hooks = [{hooks}]
""")
    return path


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, train_tool, tiny_config):
    work = tmp_path_factory.mktemp('uninterrupted')
    train_tool.main([str(tiny_config), '--work-dir', str(work), '--cfg-options',
                     *short_run(EPOCHS)])
    return weights(work / f'epoch_{EPOCHS}.pth')


@pytest.mark.parametrize('when,done,name', [
    ('at_iter=3', 3, 'iter_3.pth'),   # inside epoch 2
    ('at_iter=4', 4, 'iter_4.pth'),   # during epoch 2's last iteration
    ('at_epoch=2', 4, 'epoch_2.pth')  # during epoch 2's end (saved by this hook: interval 3)
], ids=['inside_an_epoch', 'last_iteration', 'epoch_end'])
def test_sigterm_saves_and_resume_is_exact(tmp_path, train_tool, tiny_config, uninterrupted,
                                           monkeypatch, capsys, when, done, name):
    monkeypatch.syspath_prepend(str(HELPERS))
    config = _child_config(tmp_path, tiny_config, f"dict(type='SelfTermHook', {when})")
    work = tmp_path / 'work'
    extra = ['default_hooks.checkpoint.interval=3'] if 'epoch' in when else []
    argv = [str(config), '--work-dir', str(work), '--cfg-options', *short_run(EPOCHS), *extra]
    with pytest.raises(TrainingInterrupted) as info:  # main() raises, the tools' run() reports
        train_tool.main(argv)
    assert (info.value.signal_name, info.value.iteration) == ('SIGTERM', done)
    assert info.value.checkpoint == str(work / name) and info.value.report
    print(info.value)
    out = capsys.readouterr().out
    assert (f'training stopped by SIGTERM after iteration {done} (epoch 2): checkpoint '
            f'{work / name}; continue with --resume') in out
    saved = (work / 'last_checkpoint').read_text()
    assert saved in out and os.path.isfile(saved)
    assert not (work / f'epoch_{EPOCHS}.pth').exists()  # it did stop
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler was removed
    assert not (work / '.train.lock').exists()  # and the work dir released
    train_tool.main([str(tiny_config), '--work-dir', str(work), '--resume', '--cfg-options',
                     *short_run(EPOCHS)])
    assert max_weight_diff(weights(work / f'epoch_{EPOCHS}.pth'), uninterrupted) <= 1e-6


def test_sigterm_from_outside_to_a_training_process(tmp_path, train_tool, tiny_config,
                                                    uninterrupted):
    markers = tmp_path / 'markers'
    config = _child_config(tmp_path, tiny_config,
                           f"dict(type='SlowStepHook', marker_dir={str(markers)!r})")
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(HELPERS)]),
               OMP_NUM_THREADS='1', TR2M_RANDOM_INIT='1')
    proc = subprocess.Popen([sys.executable, str(REPO / 'tools/train.py'), str(config),
                             '--work-dir', str(work), '--cfg-options', *short_run(EPOCHS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not (markers / 'iter_2').exists():  # after the first iterations
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, 'training did not reach iteration 2'
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    line = [ln for ln in out.splitlines() if ln.startswith('training stopped by SIGTERM')]
    assert len(line) == 1, out[-3000:]
    saved = (work / 'last_checkpoint').read_text()
    assert line[0].endswith(f'checkpoint {saved}; continue with --resume')
    done = int(line[0].split('after iteration ')[1].split()[0])
    assert 2 <= done < 2 * EPOCHS and os.path.isfile(saved)
    assert 'Traceback' not in err
    train_tool.main([str(tiny_config), '--work-dir', str(work), '--resume', '--cfg-options',
                     *short_run(EPOCHS)])
    assert max_weight_diff(weights(work / f'epoch_{EPOCHS}.pth'), uninterrupted) <= 1e-6


def test_second_training_on_a_held_work_dir_is_one_line(tmp_path, train_tool, tiny_config,
                                                        capsys):
    from tr2m.utils import cli

    work = tmp_path / 'work'
    hold = ('import sys, time\nfrom tr2m.utils.workdir_lock import work_dir_lock\n'
            "with work_dir_lock(sys.argv[1]):\n"
            "    print('held', flush=True)\n    time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, '-c', hold, str(work)], stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert holder.stdout.readline().strip() == 'held'
        with pytest.raises(SystemExit) as info:
            cli.run(train_tool.main, [str(tiny_config), '--work-dir', str(work),
                                      '--cfg-options', *short_run(1)], prog='train.py')
        assert info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f'train.py: error: work dir {work} is in use by another training '
                              f'(pid {holder.pid}, since ') and '\n' not in err
        assert not list(work.glob('*/*.log')) and not list(work.glob('*.pth'))
    finally:
        holder.kill()
        holder.wait()
    train_tool.main([str(tiny_config), '--work-dir', str(work), '--cfg-options', *short_run(1)])
    assert (work / 'epoch_1.pth').is_file()  # the lock of the killed holder was taken over
    assert 'taking over the lock of pid' in capsys.readouterr().out


def test_the_tools_report_an_interruption_in_one_line_and_exit_0(capsys):
    from tr2m.utils import cli

    def main(argv):
        raise TrainingInterrupted('training stopped by SIGTERM after iteration 3 (epoch 2): '
                                  'checkpoint w/iter_3.pth; continue with --resume',
                                  checkpoint='w/iter_3.pth', iteration=3)

    assert cli.run(main, [], prog='train.py') is None  # no SystemExit: exit code 0
    assert capsys.readouterr().out == ('training stopped by SIGTERM after iteration 3 (epoch 2): '
                                       'checkpoint w/iter_3.pth; continue with --resume\n')

    def other_rank(argv):
        raise TrainingInterrupted('stopped', report=False)

    assert cli.run(other_rank, [], prog='train.py') is None
    assert capsys.readouterr().out == ''
    assert not issubclass(TrainingInterrupted, Exception)  # `except Exception` lets it through


def _sa_flags(signum: int) -> int:
    """``sa_flags`` of the installed action for ``signum`` (glibc's ``struct sigaction`` on
    Linux, the platform tr2m supports: handler, 128-byte mask, then the int flags)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(256)
    assert libc.sigaction(signum, None, buf) == 0, ctypes.get_errno()
    return int.from_bytes(buf.raw[8 + 128:8 + 128 + 4], sys.byteorder)


def test_the_handler_restarts_system_calls_of_other_threads():
    """The hook's handler carries SA_RESTART: a SIGTERM landing in a thread of gloo, NCCL or a
    data loader restarts that thread's system call instead of failing it with EINTR (Python
    installs handlers without it). The previous handler is back afterwards."""
    from tr2m.engine.hooks import PreemptionHook

    sa_restart = 0x10000000
    before = signal.getsignal(signal.SIGTERM)
    hook = PreemptionHook()
    hook.before_train(None)
    try:
        assert signal.getsignal(signal.SIGTERM) == hook._handle
        assert _sa_flags(signal.SIGTERM) & sa_restart
    finally:
        hook.restore_signals()
    assert signal.getsignal(signal.SIGTERM) == before
    signal.signal(signal.SIGUSR1, lambda *a: None)  # a plain Python handler: no SA_RESTART
    try:
        assert not _sa_flags(signal.SIGUSR1) & sa_restart
    finally:
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)


def test_an_interrupted_run_frees_its_runner_before_the_process_group_goes(
        tmp_path, train_tool, tiny_config, monkeypatch):
    """As when training ends, the runner (its model, under DDP its reducer) is gone when the
    process group is destroyed: the interruption's traceback would otherwise keep it alive
    until after ``destroy_process_group``."""
    import contextlib
    import weakref

    import tr2m.apis.runs as runs

    monkeypatch.syspath_prepend(str(HELPERS))
    built, alive_at_exit = [], []
    from_cfg = runs.DepthRunner.from_cfg

    def recording_from_cfg(cfg):
        runner = from_cfg(cfg)
        built.append(weakref.ref(runner))
        return runner

    @contextlib.contextmanager
    def group(cfg):  # where the process group would be destroyed
        yield False
        alive_at_exit.append(built[0]() is not None)

    monkeypatch.setattr(runs.DepthRunner, 'from_cfg', recording_from_cfg)
    monkeypatch.setattr(runs, 'distributed', group)
    config = _child_config(tmp_path, tiny_config, "dict(type='SelfTermHook', at_iter=3)")
    with pytest.raises(TrainingInterrupted) as info:
        train_tool.main([str(config), '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                         *short_run(EPOCHS)])
    assert info.value.iteration == 3
    assert alive_at_exit == [False]
