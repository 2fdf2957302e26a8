"""SafeCheckpointHook: a save killed or failing midway never loses the previous checkpoint; no NaN
tensor is ever written; auto-resume falls back to the newest complete checkpoint."""
import errno
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.fileio.backends import LocalBackend

from tr2m.utils.checkpoint import find_resumable_checkpoint, is_complete_checkpoint
from tr2m.utils.errors import CheckpointError

from .conftest import REPO, short_run, weights

#: Runs tools/train.py, killing itself (SIGKILL) half-way through writing the file whose name
#: contains sys.argv[1].
KILLER = textwrap.dedent('''
    import os, runpy, signal, sys
    from mmengine.fileio.backends import LocalBackend
    target = sys.argv.pop(1)
    put = LocalBackend.put
    def dying_put(self, obj, filepath):
        if target in os.path.basename(str(filepath)):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        return put(self, obj, filepath)
    LocalBackend.put = dying_put
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name='__main__')
''')


def _train_argv(config, work, *options, resume=False):
    return [str(config), '--work-dir', str(work), *(['--resume'] if resume else []),
            '--cfg-options', *options]


def test_save_killed_midway_keeps_the_previous_checkpoint(tmp_path, train_tool, tiny_config):
    work = tmp_path / 'work'
    opts = short_run(2, 6, 'default_hooks.checkpoint.max_keep_ckpts=1')
    killer = tmp_path / 'killer.py'
    killer.write_text(KILLER)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(killer), 'epoch_2', str(REPO / 'tools/train.py'),
                           *_train_argv(tiny_config, work, *opts)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == -9, proc.stderr[-2000:]  # killed during the save of epoch 2
    # the torn file is the temporary one; epoch 1 (max_keep_ckpts=1) was not deleted before it
    assert (work / '.epoch_2.pth.tmp').is_file() and not (work / 'epoch_2.pth').exists()
    assert is_complete_checkpoint(str(work / 'epoch_1.pth'))
    assert (work / 'last_checkpoint').read_text().strip().endswith('epoch_1.pth')
    # and --resume carries on from it
    train_tool.main(_train_argv(tiny_config, work, *opts, resume=True))
    assert weights(work / 'epoch_2.pth') and not (work / 'epoch_1.pth').exists()


def test_full_disk_raises_naming_the_file_and_keeps_the_previous(tmp_path, train_tool,
                                                                  tiny_config, monkeypatch):
    work = tmp_path / 'work'
    opts = short_run(2, 6, 'default_hooks.checkpoint.max_keep_ckpts=1')
    put = LocalBackend.put

    def full_disk(self, obj, filepath):
        if 'epoch_2' in os.path.basename(str(filepath)):
            with open(filepath, 'wb') as f:
                f.write(obj[:100])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', full_disk)
    with pytest.raises(CheckpointError, match=r'cannot write checkpoint .*epoch_2\.pth: No space '
                       r'left on device .*the previous checkpoint is kept'):
        train_tool.main(_train_argv(tiny_config, work, *opts))
    assert sorted(p.name for p in work.glob('*.pth*')) == ['epoch_1.pth']  # nothing torn left
    assert is_complete_checkpoint(str(work / 'epoch_1.pth'))
    assert (work / 'last_checkpoint').read_text().strip().endswith('epoch_1.pth')


def test_best_checkpoint_is_replaced_only_after_the_new_one_is_written(
        tmp_path, train_tool, tiny_config, monkeypatch):
    from tr2m.engine.hooks import SafeCheckpointHook

    work = tmp_path / 'work'
    opts = short_run(2, 6, 'train_cfg.val_interval=1')  # validate (and save the best) each epoch
    monkeypatch.setattr(SafeCheckpointHook, 'rule_map',  # every epoch is the best so far
                        dict(SafeCheckpointHook.rule_map, less=lambda x, y: True))
    put = LocalBackend.put

    def failing_second_best(self, obj, filepath):
        if os.path.basename(str(filepath)) == '.best_abs_rel_epoch_2.pth.tmp':
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', failing_second_best)
    with pytest.raises(CheckpointError, match=r'best_abs_rel_epoch_2\.pth: No space left'):
        train_tool.main(_train_argv(tiny_config, work, *opts))
    # mmengine would have deleted the previous best before writing the new one
    assert [p.name for p in work.glob('best_*')] == ['best_abs_rel_epoch_1.pth']
    assert is_complete_checkpoint(str(work / 'best_abs_rel_epoch_1.pth'))
    assert not list(work.glob('.*.tmp'))


def test_no_checkpoint_with_nonfinite_tensors(tmp_path, train_tool, tiny_config):
    # with the NaN guard switched off, lr=inf turns the weights to inf/NaN: the save refuses
    from mmengine.runner import Runner

    work = tmp_path / 'work'
    opts = short_run(1, 6, 'optim_wrapper.optimizer.lr=inf')
    cfg = train_tool.build_config(train_tool.parse_args(_train_argv(tiny_config, work, *opts)))
    cfg.default_hooks.pop('nonfinite_guard')
    with pytest.raises(CheckpointError, match=r'refusing to save checkpoint .*epoch_1\.pth: \d+ '
                       r'tensors hold NaN or inf .*weights; first state_dict\.'):
        Runner.from_cfg(cfg).train()
    assert not list(work.glob('*.pth')) and not list(work.glob('.*.tmp'))


def test_find_resumable_checkpoint_falls_back(tmp_path, capsys):
    good = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(3))), good)
    torn = tmp_path / 'epoch_2.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(3000))), torn)
    torn.write_bytes(torn.read_bytes()[:500])
    os.utime(good, (1, 1))  # older than the torn one
    torch.save(dict(state_dict={}), tmp_path / 'best_abs_rel_epoch_2.pth')  # never resumed from
    pointer = tmp_path / 'last_checkpoint'
    pointer.write_text(str(torn))
    assert find_resumable_checkpoint(str(tmp_path)) == str(good)
    assert f'names {torn}, which is missing, empty or torn: resuming from {good}' in \
        capsys.readouterr().out
    pointer.write_text(str(tmp_path / 'epoch_9.pth'))  # a deleted file
    assert find_resumable_checkpoint(str(tmp_path)) == str(good)
    pointer.write_text('')  # a torn pointer
    assert find_resumable_checkpoint(str(tmp_path)) == str(good)
    pointer.write_text(str(good))
    assert find_resumable_checkpoint(str(tmp_path)) == str(good)
    good.unlink()
    assert find_resumable_checkpoint(str(tmp_path)) is None
    assert 'holds no other complete checkpoint' in capsys.readouterr().out
    assert find_resumable_checkpoint(str(tmp_path / 'nowhere')) is None  # a fresh work dir
