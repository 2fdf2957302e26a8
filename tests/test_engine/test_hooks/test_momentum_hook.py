"""``SOCMomentumHook``: one EMA update per optimizer step that happened, on the model's
``MomentumComponent``s and nothing else."""
import pytest
from mmengine.logging import MessageHub
from mmengine.runner import Runner
from torch import nn

from tr2m.engine.hooks import SOCMomentumHook
from tr2m.engine.hooks.momentum_hook import optimizer_stepped
from tr2m.models.contrast import MomentumComponent, ScaleOrientedContrast, momentum_components
from tr2m.utils.errors import ConfigError


class _Counting(nn.Module, MomentumComponent):
    def __init__(self):
        super().__init__()
        self.updates = 0

    def momentum_update(self):
        self.updates += 1


class _DuckTyped(nn.Module):
    """Has a ``momentum_update`` but is no MomentumComponent: the hook must not call it."""

    def __init__(self):
        super().__init__()
        self.updates = 0

    def momentum_update(self):
        self.updates += 1


class _FakeRunner:
    def __init__(self, model, should_update=True, skipped_iter=None, it=7):
        self.model = model
        self.iter = it
        self.optim_wrapper = type('W', (), {'should_update': lambda _: should_update})()
        self.message_hub = MessageHub.get_instance(f'tr2m_test_momentum_{id(self)}')
        if skipped_iter is not None:
            self.message_hub.update_info('skipped_iter', skipped_iter)
        self.hooks = [SOCMomentumHook()]


def _model():
    return nn.ModuleDict(dict(a=_Counting(), inner=nn.Sequential(_Counting()), duck=_DuckTyped()))


def test_optimizer_stepped_reads_the_wrapper_and_the_guard():
    model = _model()
    assert optimizer_stepped(_FakeRunner(model))
    assert not optimizer_stepped(_FakeRunner(model, should_update=False))  # accumulating
    assert not optimizer_stepped(_FakeRunner(model, skipped_iter=7))  # NaN guard skipped it
    assert optimizer_stepped(_FakeRunner(model, skipped_iter=6))  # an earlier skip


def test_hook_updates_every_momentum_component_and_nothing_else():
    model = _model()
    assert momentum_components(model) == [model['a'], model['inner'][0]]
    hook = SOCMomentumHook()
    hook.after_train_iter(_FakeRunner(model), 0)
    hook.after_train_iter(_FakeRunner(model, should_update=False), 1)
    hook.after_train_iter(_FakeRunner(model, skipped_iter=7), 2)
    assert (model['a'].updates, model['inner'][0].updates) == (1, 1)
    assert model['duck'].updates == 0  # no duck typing
    assert issubclass(ScaleOrientedContrast, MomentumComponent)


def test_hook_refuses_to_run_twice_per_step():
    runner = _FakeRunner(_model())
    runner.hooks[0].before_train(runner)  # one: fine
    runner.hooks.append(SOCMomentumHook())
    with pytest.raises(ConfigError, match=r'registered 2 times.*remove '
                                          r"dict\(type='SOCMomentumHook'\) from custom_hooks"):
        runner.hooks[0].before_train(runner)


def test_gradient_accumulation_updates_once_per_optimizer_step(tmp_path, train_tool,
                                                               tiny_config, monkeypatch):
    """6 iterations accumulating 2 batches per optimizer step: 3 steps, 3 EMA updates."""
    calls = []
    original = ScaleOrientedContrast.momentum_update

    def counting(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(ScaleOrientedContrast, 'momentum_update', counting)
    cfg = train_tool.build_config(train_tool.parse_args(
        [str(tiny_config), '--work-dir', str(tmp_path), '--cfg-options',
         'train_cfg.max_epochs=2', 'train_cfg.val_interval=1000', 'train_dataloader.batch_size=2',
         'optim_wrapper.accumulative_counts=2', 'default_hooks.checkpoint.interval=100']))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 6
    assert len(calls) == 3
