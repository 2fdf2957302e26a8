"""``tr2m.engine.required_hooks``: what a model needs from the hooks, on every shipped config and
on the configs users write (a hook added to ``custom_hooks`` drops nothing; a missing or doubled
required hook is one clear line, exit code 2)."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from tr2m.engine import check_required_hooks, registered_hooks, required_hooks
from tr2m.engine.hooks import SOCMomentumHook
from tr2m.models.contrast import ScaleOrientedContrast
from tr2m.registry import HOOKS
from tr2m.utils import register_all_modules
from tr2m.utils.errors import ConfigError

from .conftest import short_run

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py')
                 if '_base_' not in p.parts and 'grids' not in p.parts
                 and p.parent.name != 'compare')  # grids and comparison files: not configs
CONFIGS += sorted(p for p in REPO.glob('projects/*/configs/**/*.py') if '_base_' not in p.parts)
#: What configs/_base_/default_runtime.py promises every run (default_hooks, merged by key).
RUNTIME_HOOKS = {'SOCMomentumHook', 'LossBalanceHook', 'CaptionEmbeddingHook', 'SampleSeedHook',
                 'NonFiniteGuardHook', 'SafeCheckpointHook'}

register_all_modules()


def _types(cfg) -> list:
    return [kind for _, kind in registered_hooks(cfg)]


def _cfg(**fields) -> Config:
    return Config(dict(fields))


SOC_MODEL = dict(type='TR2M', neck=dict(type='CrossModalAttentionNeck'),
                 soc=dict(type='ScaleOrientedContrast', feature='neck'))


# ---- the functions on hand-made configs ---------------------------------------------------
def test_required_hooks_come_from_the_components_that_declare_them():
    assert ScaleOrientedContrast.REQUIRED_HOOKS == ('SOCMomentumHook',)
    assert required_hooks(SOC_MODEL) == {
        'SOCMomentumHook': ['model.soc (ScaleOrientedContrast)']}
    assert required_hooks(dict(SOC_MODEL, soc=None)) == {}
    nested = dict(type='Wrapper', parts=[dict(type='ScaleOrientedContrast')])
    assert required_hooks(nested, 'm') == {
        'SOCMomentumHook': ['m.parts[0] (ScaleOrientedContrast)']}
    assert required_hooks(ScaleOrientedContrast()) == {
        'SOCMomentumHook': ['model (ScaleOrientedContrast)']}  # a built module too


def test_registered_hooks_lists_default_then_custom_hooks():
    cfg = _cfg(default_hooks=dict(timer=dict(type='IterTimerHook'), logger=None,
                                  soc_momentum=dict(type='tr2m.SOCMomentumHook')),
               custom_hooks=[dict(type=SOCMomentumHook), SOCMomentumHook()])
    assert registered_hooks(cfg) == [
        ('default_hooks.timer', 'IterTimerHook'),
        ('default_hooks.soc_momentum', 'SOCMomentumHook'),
        ('custom_hooks[0]', 'SOCMomentumHook'), ('custom_hooks[1]', 'SOCMomentumHook')]
    assert registered_hooks(_cfg()) == []


def test_check_passes_once_and_names_a_missing_or_doubled_hook():
    once = dict(soc_momentum=dict(type='SOCMomentumHook'))
    check_required_hooks(_cfg(model=SOC_MODEL, default_hooks=once))
    check_required_hooks(_cfg(model=SOC_MODEL, custom_hooks=[dict(type='SOCMomentumHook')]))
    check_required_hooks(_cfg(model=dict(SOC_MODEL, soc=None)))  # no SOC: nothing needed
    with pytest.raises(ConfigError) as err:
        check_required_hooks(_cfg(model=SOC_MODEL, custom_hooks=[dict(type='MyHook')]))
    assert str(err.value).startswith('model.soc (ScaleOrientedContrast) needs SOCMomentumHook '
                                     'but the config registers none')
    assert '\n' not in str(err.value)  # one line
    with pytest.raises(ConfigError) as err:
        check_required_hooks(_cfg(model=SOC_MODEL, default_hooks=once,
                                  custom_hooks=[dict(type='SOCMomentumHook')]))
    assert str(err.value).startswith('SOCMomentumHook is registered 2 times '
                                     '(default_hooks.soc_momentum, custom_hooks[0])')
    # None removes mmengine's own default hooks; the runner asserts on any other key
    check_required_hooks(_cfg(model=SOC_MODEL, default_hooks=dict(once, logger=None)))
    with pytest.raises(ConfigError, match=r'^default_hooks\.loss_balance=None: mmengine '
                                          'removes only its own default hooks'):
        check_required_hooks(_cfg(default_hooks=dict(loss_balance=None)))


# ---- every shipped config -----------------------------------------------------------------
@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_config_registers_what_its_model_needs(path):
    cfg = Config.fromfile(str(path))
    check_required_hooks(cfg)  # each required hook exactly once
    types = _types(cfg)
    assert RUNTIME_HOOKS <= set(types), sorted(RUNTIME_HOOKS - set(types))
    assert types.count('SOCMomentumHook') == 1
    if cfg.model.get('soc'):
        assert 'SOCMomentumHook' in required_hooks(cfg.model)


def test_the_paper_config_keeps_every_runtime_hook_and_adds_its_panels():
    """``configs/tr2m_da_s.py`` adds a panel hook; it used to replace the runtime's list and
    drop LossBalanceHook and CaptionEmbeddingHook."""
    cfg = Config.fromfile(str(REPO / 'configs' / 'tr2m_da_s.py'))
    types = _types(cfg)
    assert RUNTIME_HOOKS | {'ValidationPanelHook'} <= set(types)
    assert [h['type'] for h in cfg.custom_hooks] == ['ValidationPanelHook']
    assert cfg.default_hooks.loss_balance == dict(type='LossBalanceHook', interval=50)
    assert cfg.model.soc.type == 'ScaleOrientedContrast'


# ---- user configs through tools/train.py ---------------------------------------------------
@HOOKS.register_module(force=True)
class CountingUserHook(Hook):
    """A user's hook: counts the training iterations it saw."""

    priority = 'LOW'
    seen = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        type(self).seen += 1


def _user_config(tmp_path, base: Path, body: str) -> Path:
    path = tmp_path / 'user_config.py'
    path.write_text(f'_base_ = [{str(base)!r}]\n{body}\n')
    return path


def test_a_user_hook_in_custom_hooks_keeps_the_momentum_update(tmp_path, train_tool,
                                                               tiny_config, monkeypatch):
    """A user config that sets ``custom_hooks = [its hook]`` trains with SOC's EMA update after
    every optimizer step, the loss-balance log and the caption table, and its own hook."""
    config = _user_config(tmp_path, tiny_config,
                          "custom_hooks = [dict(type='CountingUserHook')]")
    updates = []
    original = ScaleOrientedContrast.momentum_update

    def counting(self):
        updates.append(1)
        return original(self)

    monkeypatch.setattr(ScaleOrientedContrast, 'momentum_update', counting)
    CountingUserHook.seen = 0
    args = train_tool.parse_args([str(config), '--work-dir', str(tmp_path / 'work'),
                                  '--cfg-options', *short_run(1, 2),
                                  'default_hooks.checkpoint.interval=100'])
    cfg = train_tool.build_config(args)
    runner = Runner.from_cfg(cfg)
    names = [type(h).__name__ for h in runner.hooks]
    assert names.count('SOCMomentumHook') == 1
    assert {'LossBalanceHook', 'CaptionEmbeddingHook', 'CountingUserHook'} <= set(names)
    soc = runner.model.soc
    ema_before = [p.detach().clone() for p in soc.momentum_branch.parameters()]
    runner.train()  # 6 images, batch 2: 3 iterations
    assert CountingUserHook.seen == 3
    assert len(updates) == 3  # one EMA update per optimizer step
    moved = [not p.equal(b) for p, b in zip(soc.momentum_branch.parameters(), ema_before)]
    assert any(moved)


@pytest.mark.parametrize('body, expected', [
    ("default_hooks = dict(soc_momentum=None)",
     'default_hooks.soc_momentum=None: mmengine removes only its own default hooks'),
    ("custom_hooks = [dict(type='SOCMomentumHook')]",
     'SOCMomentumHook is registered 2 times (default_hooks.soc_momentum, custom_hooks[0])'),
    ("default_hooks = dict(_delete_=True, logger=dict(type='LoggerHook'))",
     'model.soc (ScaleOrientedContrast) needs SOCMomentumHook but the config registers none'),
])
def test_a_user_config_without_the_momentum_hook_is_refused(tmp_path, train_tool, tiny_config,
                                                            capsys, body, expected):
    config = _user_config(tmp_path, tiny_config, body)
    with pytest.raises(ConfigError) as err:  # tools' CLI wrapper: this line, exit code 2
        train_tool.main([str(config), '--work-dir', str(tmp_path / 'work')])
    assert err.value.exit_code == 2
    assert str(err.value).startswith(expected), str(err.value)
    assert [p.name for p in tmp_path.iterdir()] == ['user_config.py']  # before any run began


def test_a_runner_built_by_hand_refuses_a_second_momentum_hook(tmp_path, train_tool,
                                                               tiny_config):
    cfg = train_tool.build_config(train_tool.parse_args(
        [str(tiny_config), '--work-dir', str(tmp_path), '--cfg-options', *short_run(1, 2)]))
    cfg.custom_hooks = [dict(type='SOCMomentumHook')]  # past the check, as Python code may do
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ConfigError, match='SOCMomentumHook is registered 2 times'):
        runner.train()
