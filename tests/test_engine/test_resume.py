"""Exact resume: a run stopped after k iterations and resumed ends where an uninterrupted run
ends (SampleSeedHook seeds every crop, flip and caption from (seed, epoch, index); the
SafeCheckpointHook re-plans a schedule whose length changed)."""
import pytest
from mmengine.hooks import Hook
from mmengine.runner import Runner

from tr2m.registry import HOOKS
from tr2m.utils.errors import ConfigError

from .conftest import max_weight_diff, short_run, weights


class _Stopped(Exception):
    """Stands in for a kill: raised by StopTrainingHook."""


@HOOKS.register_module(force=True)
class StopTrainingHook(Hook):
    """Raise after iteration ``at_iter`` or epoch ``at_epoch`` (after the checkpoint hook)."""

    priority = 'LOWEST'

    def __init__(self, at_iter=None, at_epoch=None):
        self.at_iter, self.at_epoch = at_iter, at_epoch

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.at_iter is not None and runner.iter + 1 == self.at_iter:
            raise _Stopped

    def after_train_epoch(self, runner):
        if self.at_epoch is not None and runner.epoch + 1 == self.at_epoch:
            raise _Stopped


def _train(train_tool, config, work, options, resume=False, stop=None):
    argv = [str(config), '--work-dir', str(work), '--cfg-options', *options]
    if resume:
        argv.insert(1, '--resume')
    cfg = train_tool.build_config(train_tool.parse_args(argv))
    if stop is not None:
        cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='StopTrainingHook', **stop)]
        with pytest.raises(_Stopped):
            Runner.from_cfg(cfg).train()
    else:
        Runner.from_cfg(cfg).train()


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, train_tool, tiny_config):
    """4 epochs of 2 iterations (6 images, batch 4), no interruption."""
    work = tmp_path_factory.mktemp('uninterrupted')
    _train(train_tool, tiny_config, work, short_run(4))
    return weights(work / 'epoch_4.pth')


def test_resume_at_an_epoch_boundary_is_exact(tmp_path, train_tool, tiny_config, uninterrupted):
    _train(train_tool, tiny_config, tmp_path, short_run(4), stop=dict(at_epoch=2))
    assert (tmp_path / 'epoch_2.pth').is_file() and not (tmp_path / 'epoch_3.pth').exists()
    _train(train_tool, tiny_config, tmp_path, short_run(4), resume=True)
    assert max_weight_diff(weights(tmp_path / 'epoch_4.pth'), uninterrupted) <= 1e-6


def test_resume_inside_an_epoch_is_exact(tmp_path, train_tool, tiny_config, uninterrupted):
    # iteration checkpoints: stopped after iteration 3, the first of epoch 2's two iterations
    opts = short_run(4, 4, 'default_hooks.checkpoint.iter_interval=1')
    _train(train_tool, tiny_config, tmp_path, opts, stop=dict(at_iter=3))
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_3.pth')
    assert not (tmp_path / 'iter_2.pth').exists()  # only the newest iteration checkpoint is kept
    _train(train_tool, tiny_config, tmp_path, opts, resume=True)
    log = '\n'.join(p.read_text() for p in tmp_path.glob('*/*.log'))
    assert 'resumed inside epoch 2: skipping its first 1 of 2 batches' in log
    assert max_weight_diff(weights(tmp_path / 'epoch_4.pth'), uninterrupted) <= 1e-6


def test_longer_schedule_on_resume_is_replanned(tmp_path, train_tool, tiny_config, uninterrupted):
    _train(train_tool, tiny_config, tmp_path, short_run(2))  # a finished 2-epoch run
    _train(train_tool, tiny_config, tmp_path, short_run(4), resume=True)  # extended to 4
    log = '\n'.join(p.read_text() for p in sorted(tmp_path.glob('*/*.log')))
    assert 'max_epochs 2 -> 4' in log and 'ExponentialLR end 2 -> 4' in log
    assert 're-planned' in log
    # the learning rate kept decaying to the new end: the same run as 4 epochs in one go
    assert max_weight_diff(weights(tmp_path / 'epoch_4.pth'), uninterrupted) <= 1e-6


def test_longer_schedule_on_resume_can_be_refused(tmp_path, train_tool, tiny_config):
    _train(train_tool, tiny_config, tmp_path, short_run(1))
    with pytest.raises(ConfigError, match=r'different schedule \(max_epochs 1 -> 2.*refused'):
        _train(train_tool, tiny_config, tmp_path,
               short_run(2, 4, 'default_hooks.checkpoint.on_schedule_change=refuse'),
               resume=True)


def test_resume_never_executes_the_config_text_of_a_checkpoint(tmp_path, train_tool,
                                                                tiny_config):
    """A checkpoint that loads weights-only can still carry Python text in ``meta['config']``,
    which mmengine's ``resume`` executes (``Config.fromstring``); tr2m's runner drops it."""
    import torch

    from tr2m.engine import DepthRunner

    _train(train_tool, tiny_config, tmp_path, short_run(1))
    ckpt_path = tmp_path / 'epoch_1.pth'
    ckpt = torch.load(ckpt_path, weights_only=True)
    marker = tmp_path / 'code_ran'
    ckpt['meta']['config'] = f"a = __import__('os').system('touch {marker}')"
    torch.save(ckpt, ckpt_path)

    def resume(runner_cls, work):
        argv = [str(tiny_config), '--work-dir', str(work), '--resume', str(ckpt_path),
                '--cfg-options', *short_run(2)]
        runner_cls.from_cfg(train_tool.build_config(train_tool.parse_args(argv))).train()

    resume(Runner, tmp_path / 'plain')  # mmengine's own runner runs the text: the hole
    assert marker.exists()
    marker.unlink()
    resume(DepthRunner, tmp_path / 'tr2m')
    assert not marker.exists()
    assert (tmp_path / 'tr2m' / 'epoch_2.pth').is_file()  # and the resume itself went on


def test_an_exception_in_training_puts_the_signal_handlers_back(tmp_path, train_tool,
                                                                 tiny_config):
    """``after_train`` never runs when training raises: the runner still restores SIGTERM."""
    import signal

    from tr2m.engine import DepthRunner

    argv = [str(tiny_config), '--work-dir', str(tmp_path), '--cfg-options', *short_run(2)]
    cfg = train_tool.build_config(train_tool.parse_args(argv))
    cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='StopTrainingHook', at_iter=1)]
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(_Stopped):
        DepthRunner.from_cfg(cfg).train()
    assert signal.getsignal(signal.SIGTERM) is before
