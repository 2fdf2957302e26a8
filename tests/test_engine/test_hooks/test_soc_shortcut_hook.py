"""``SOCShortcutHook``: one warning per run when SOC's queries turn away from every key, none
on a healthy run; the cosine diagnostics reach the text log, ``scalars.json`` and TensorBoard.

The runs are real mmengine runs of a toy depther whose contrasted feature is a 1x1 conv with a
real ``ScaleOrientedContrast`` (``projector=None``, momentum 1.0, so the key branch keeps its
initial weights, and lr 0). In the shortcut run the live conv is negated after the EMA copy was
made, so every query is exactly the negative of its key: ``soc_cos_pos = -soc_cos_pos`` of the
healthy run, which is positive.
"""
import json
from pathlib import Path

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tr2m.engine.hooks import SOCShortcutHook
from tr2m.engine.hooks.soc_shortcut_hook import SHORTCUT_OPTIONS, shortcut_message
from tr2m.models.contrast import ScaleOrientedContrast


class _Frames(Dataset):
    """Images whose first channel is the depth (3 depth bands, so 3 classes with C = 2)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        gen = torch.Generator().manual_seed(i)
        depth = torch.arange(3.0).repeat_interleave(4)[:, None].expand(12, 12) + 1
        img = torch.cat([depth[None], torch.randn(3, 12, 12, generator=gen) * 0.1])
        return dict(inputs=img)


class _ToyDepther(BaseModel):
    def __init__(self, turned_away: bool):
        super().__init__()
        torch.manual_seed(0)
        self.feat = nn.Conv2d(4, 8, 1)
        self.soc = ScaleOrientedContrast(feature='feat', projector=None, momentum=1.0,
                                         num_classes=2, in_channels=8, loss_weight=1.0)
        self.soc.attach(self)
        if turned_away:  # the live branch points exactly away from its (frozen) EMA copy
            with torch.no_grad():
                self.feat.weight.neg_()
                self.feat.bias.neg_()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        with self.soc.capture():
            self.feat(inputs)
        gt = inputs[:, :1]
        return self.soc(self, inputs, None, gt, gt > 0)


def _run(tmp_path: Path, turned_away: bool, iters: int = 6) -> Path:
    work = tmp_path / ('away' if turned_away else 'healthy')
    runner = Runner(
        model=_ToyDepther(turned_away), work_dir=str(work),
        train_dataloader=DataLoader(_Frames(), batch_size=2, shuffle=False),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1), checkpoint=None),
        custom_hooks=[SOCShortcutHook(window=3)],
        visualizer=dict(type='Visualizer', name=f'soc_shortcut_{work.name}_{id(work)}',
                        vis_backends=[dict(type='LocalVisBackend'),
                                      dict(type='TensorboardVisBackend')]),
        experiment_name=f'soc_shortcut_{work.name}', default_scope='tr2m')
    runner.train()
    return work


def _log_text(work: Path) -> str:
    return ''.join(p.read_text() for p in work.rglob('*.log'))


def _scalars(work: Path) -> list:
    (path,) = list(work.rglob('scalars.json'))
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('soc_shortcut')
    return {away: _run(root, turned_away=away) for away in (False, True)}


def test_warns_once_on_a_run_turned_away_from_every_key(runs):
    work = runs[True]
    log = _log_text(work)
    assert log.count('SOC shortcut at iteration') == 1  # once per run, not once per window
    assert 'SOC shortcut at iteration 2:' in log  # the first full window of 3 iterations
    for option in SHORTCUT_OPTIONS:
        assert option in log
    rows = [r for r in _scalars(work) if 'soc_cos_pos' in r]
    assert len(rows) == 6
    # the queries are the keys negated: own-class cosine < 0 on every iteration
    assert all(r['soc_cos_pos'] < -0.5 for r in rows)
    assert all(-1 <= r['soc_cos_neg'] <= 1 for r in rows)


def test_silent_on_a_healthy_run_and_diagnostics_reach_tensorboard(runs):
    work = runs[False]
    assert 'SOC shortcut' not in _log_text(work)
    rows = [r for r in _scalars(work) if 'soc_cos_pos' in r]
    assert len(rows) == 6 and all(r['soc_cos_pos'] > 0.5 for r in rows)
    away = [r for r in _scalars(runs[True]) if 'soc_cos_pos' in r]
    # same features and keys, the live branch negated: the cosine flips its sign exactly
    for healthy, turned in zip(rows, away):
        assert turned['soc_cos_pos'] == pytest.approx(-healthy['soc_cos_pos'], abs=1e-5)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = [p.parent for p in work.rglob('events.out.tfevents.*')]
    acc = EventAccumulator(str(events))
    acc.Reload()
    tags = set(acc.Tags()['scalars'])
    assert {'soc_cos_pos', 'soc_cos_neg', 'soc_pos_frac', 'loss_soc'} <= tags
    values = [e.value for e in acc.Scalars('soc_cos_pos')]
    assert values == pytest.approx([r['soc_cos_pos'] for r in rows], abs=1e-4)


class _Runner:
    """Just what the hook reads, for the window arithmetic."""

    def __init__(self):
        from mmengine.logging import MessageHub

        self.iter = 0
        self.messages = []
        self.logger = type('L', (), {'warning': lambda _, m: self.messages.append(m)})()
        self.message_hub = MessageHub.get_instance(f'tr2m_test_shortcut_{id(self)}')


def test_window_mean_threshold_and_runs_without_soc():
    hook, runner = SOCShortcutHook(window=3), _Runner()
    hook.before_train(runner)
    for it, cos in enumerate([0.5, -0.6, -0.6, -0.6, -0.6]):  # windows: -0.233, -0.6
        runner.iter = it
        hook.after_train_iter(runner, it, outputs=dict(soc_cos_pos=torch.tensor(cos),
                                                       soc_cos_neg=torch.tensor(-0.7)))
    # [0.5, -0.6, -0.6] already averages -0.233 < 0: warned at iteration 2, and only then
    assert hook.warned_at == 2 and len(runner.messages) == 1
    assert runner.message_hub.get_info('soc_shortcut_iter') == 2
    assert runner.messages[0] == shortcut_message(-0.7 / 3, -0.7, 3, 2)
    hook.before_train(runner)  # a new run (or a resumed one) may warn again, once
    assert hook.warned_at is None
    quiet = SOCShortcutHook(window=2, threshold=-0.5)
    for it, cos in enumerate([-0.4, -0.45, -0.3]):  # negative, but above the threshold
        quiet.after_train_iter(runner, it, outputs=dict(soc_cos_pos=cos))
    quiet.after_train_iter(runner, 9, outputs=dict(loss_silog=1.0))  # no SOC: ignored
    quiet.after_train_iter(runner, 10, outputs=None)
    assert quiet.warned_at is None and len(runner.messages) == 1
    off = SOCShortcutHook(window=1, threshold=-1)  # switched off: a cosine is never < -1
    for it in range(3):
        off.after_train_iter(runner, it, outputs=dict(soc_cos_pos=-1.0))
    assert off.warned_at is None and len(runner.messages) == 1
    with pytest.raises(ValueError, match='window must be a positive int'):
        SOCShortcutHook(window=0)
