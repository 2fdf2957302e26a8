"""``MAX_RESTARTS=1 bash tools/dist_train.sh``: one of 2 CPU (gloo) ranks is killed mid-run,
torchrun restarts both, they resume from the newest complete checkpoint, and the run finishes
on its own with the final weights of an uninterrupted 2-rank run."""
import os
import re
import signal
import subprocess
import time

import pytest
from dist_tool_utils import REPO, free_port, max_weight_diff, run_script

HELPERS = REPO / 'tests' / 'test_engine'  # _preemption_helpers.RankMarkerHook
EPOCHS = 3  # 6 images, 2 ranks x 1 image: 3 iterations per epoch, 9 in all


def _opts() -> list:
    return [f'train_cfg.max_epochs={EPOCHS}', 'train_cfg.val_interval=1000',
            'train_cfg.val_begin=1000', 'train_dataloader.batch_size=1',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.iter_interval=1']


@pytest.fixture(scope='module')
def plain_run(tiny_config, tmp_path_factory):
    """The final checkpoint of an uninterrupted 2-rank run."""
    work = tmp_path_factory.mktemp('plain')
    run_script([REPO / 'tools/dist_train.sh', tiny_config, 2, '--work-dir', work,
                '--cfg-options', *_opts()])
    return work / f'epoch_{EPOCHS}.pth'


def _digest(out: str) -> str:
    """What a failed run printed, for the assertion message: every line that looks like the
    cause (an abort, a C++ exception, a Python error, a fatal signal) first, then the tail
    (torchrun's own report would otherwise fill the message and hide the rank's last words)."""
    keys = ('terminate', 'abort', 'Abort', 'Error', 'error', 'Fatal', 'fatal', 'what()',
            'Traceback', 'signal', 'Signal')
    causes = [ln for ln in out.splitlines() if any(k in ln for k in keys)][:60]
    return '\n'.join(causes) + '\n----- tail -----\n' + out[-3000:]


def _marked_run(tiny_config, tmp_path, work, signum, max_restarts='0'):
    """Start 2 ranks with RankMarkerHook, send ``signum`` to rank 1 after its 4th iteration
    (inside epoch 2), wait for the end; ``(victim pid, returncode, output)``."""
    markers = tmp_path / 'markers'
    config = tmp_path / 'marked_cfg.py'
    config.write_text(f"""_base_ = [{str(tiny_config)!r}]
custom_imports = dict(imports=['_preemption_helpers'], allow_failed_imports=False)
custom_hooks = [dict(type='RankMarkerHook', marker_dir={str(markers)!r}, seconds=0.5)]
""")
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1',
               MAX_RESTARTS=max_restarts, PYTHONPATH=str(HELPERS))
    proc = subprocess.Popen(['bash', str(REPO / 'tools/dist_train.sh'), str(config), '2',
                             '--work-dir', str(work), '--cfg-options', *_opts()],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)  # its own group: killed whole
    try:
        deadline = time.monotonic() + 400
        victim = None
        while victim is None:
            found = list(markers.glob('r1_iter_4_pid*')) if markers.is_dir() else []
            if found:
                victim = int(re.search(r'pid(\d+)$', found[0].name).group(1))
            assert proc.poll() is None, proc.communicate()[0][-4000:]
            assert time.monotonic() < deadline, 'rank 1 did not reach iteration 4'
            time.sleep(0.05)
        os.kill(victim, signum)
        out, _ = proc.communicate(timeout=500)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # bash, torchrun and the ranks it started
            proc.wait()
    return victim, proc.returncode, out


def test_a_killed_rank_is_restarted_and_the_run_ends_as_uninterrupted(tiny_config, tmp_path,
                                                                      plain_run):
    markers = tmp_path / 'markers'
    work = tmp_path / 'restarted'
    victim, code, out = _marked_run(tiny_config, tmp_path, work, signal.SIGKILL, '1')
    assert code == 0, _digest(out)
    # the second round ran in other processes and resumed from a checkpoint of the first
    pids = {int(re.search(r'pid(\d+)$', p.name).group(1)) for p in markers.glob('r1_iter_*')}
    assert victim in pids and len(pids) == 2, pids
    resumed = re.findall(r'restart 1: resuming from (\S+iter_(\d+)\.pth)', out)
    assert len(resumed) == 2, out[-5000:]  # both ranks, from the same checkpoint
    assert resumed[0] == resumed[1] and 3 <= int(resumed[0][1]) < 3 * EPOCHS
    diff = max_weight_diff(work / f'epoch_{EPOCHS}.pth', plain_run)
    print(f'killed rank 1 (pid {victim}) after iteration 4; resumed from {resumed[0][0]}; '
          f'max weight difference to the uninterrupted run {diff:.3g}')
    assert diff <= 1e-6


def test_sigterm_to_one_rank_stops_both_after_the_same_step(tiny_config, tmp_path, plain_run):
    # only rank 1 gets the signal: the ranks agree through the all-reduce of the flag, both stop
    # after the same step and exit 0 (rank 0 writes the checkpoint), and torchrun ends with 0
    work = tmp_path / 'stopped'
    victim, code, out = _marked_run(tiny_config, tmp_path, work, signal.SIGTERM)
    assert code == 0, _digest(out)
    lines = re.findall(r'^training stopped by SIGTERM after iteration (\d+) \(epoch \d\): '
                       r'checkpoint (\S+); continue with --resume$', out, re.M)
    assert len(lines) == 1, out[-5000:]  # printed by rank 0 only
    done, saved = int(lines[0][0]), lines[0][1]
    assert 4 <= done < 3 * EPOCHS and saved == (work / 'last_checkpoint').read_text()
    assert not (work / f'epoch_{EPOCHS}.pth').exists()
    run_script([REPO / 'tools/dist_train.sh', tiny_config, 2, '--work-dir', work, '--resume',
                '--cfg-options', *_opts()])
    diff = max_weight_diff(work / f'epoch_{EPOCHS}.pth', plain_run)
    print(f'SIGTERM to rank 1 (pid {victim}): both ranks stopped after iteration {done}; '
          f'resumed from {saved}; max weight difference to the uninterrupted run {diff:.3g}')
    assert diff <= 1e-6


def _fake_srun(folder, codes):
    """An ``srun`` on PATH that records its TR2M_RESTART_COUNT and exits with ``codes`` in
    turn."""
    folder.mkdir(parents=True)
    (folder / 'codes').write_text(' '.join(str(c) for c in codes))
    script = folder / 'srun'
    script.write_text(f"""#!/usr/bin/env bash
echo "$TR2M_RESTART_COUNT" >> {folder}/calls
read -r -a codes < {folder}/codes
n=$(wc -l < {folder}/calls)
exit "${{codes[$((n - 1))]}}"
""")
    script.chmod(0o755)
    return folder


def _slurm(tmp_path, codes, max_restarts):
    fake = _fake_srun(tmp_path / 'bin', codes)
    env = dict(os.environ, PATH=f'{fake}:{os.environ["PATH"]}', MAX_RESTARTS=max_restarts)
    proc = subprocess.run(['bash', str(REPO / 'tools/slurm_train.sh'), 'part', 'job', 'cfg.py'],
                          env=env, capture_output=True, text=True, timeout=60)
    calls = (fake / 'calls').read_text().split() if (fake / 'calls').exists() else []
    return proc, calls


def test_slurm_train_reruns_srun_within_its_budget(tmp_path):
    proc, calls = _slurm(tmp_path / 'a', [1, 137, 0], '2')
    assert proc.returncode == 0 and calls == ['0', '1', '2']
    assert 'srun failed (exit 1); restart 1 of 2' in proc.stderr
    assert 'srun failed (exit 137); restart 2 of 2' in proc.stderr
    proc, calls = _slurm(tmp_path / 'b', [1, 1, 1], '1')  # the budget runs out
    assert proc.returncode == 1 and calls == ['0', '1']
    proc, calls = _slurm(tmp_path / 'c', [2, 0], '3')  # a user mistake is not retried
    assert proc.returncode == 2 and calls == ['0']
    proc, calls = _slurm(tmp_path / 'd', [1, 0], '0')  # off by default
    assert proc.returncode == 1 and calls == ['0']
    proc, calls = _slurm(tmp_path / 'e', [0], 'two')
    assert proc.returncode == 2 and calls == [] and \
        "MAX_RESTARTS must be a whole number, got 'two'" in proc.stderr


def test_dist_train_refuses_a_bad_budget():
    proc = subprocess.run(['bash', str(REPO / 'tools/dist_train.sh'), 'cfg.py', '2'],
                          env=dict(os.environ, MAX_RESTARTS='-1'), capture_output=True, text=True)
    assert proc.returncode == 2 and "MAX_RESTARTS must be a whole number, got '-1'" in proc.stderr
