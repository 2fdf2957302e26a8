"""NonFiniteGuardHook: a NaN relative depth or an infinite learning rate stops training with a
message naming the loss terms and the images; 'skip' skips and counts; empty GT is counted."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import Runner

from tr2m.engine.hooks import NonFiniteGuardHook, NonFiniteLossError
from tr2m.engine.hooks import nonfinite_guard_hook as guard_module
from tr2m.models.backbones.simulated_relative_depth import SimulatedRelativeDepth
from tr2m.registry import MODELS

from .conftest import short_run, weights


@MODELS.register_module(force=True)
class NaNRowsRelativeDepth(SimulatedRelativeDepth):
    """The demo's simulated relative depth with 10 NaN rows in images whose path has ``match``."""

    def __init__(self, match: str = 'indoor', **kwargs) -> None:
        super().__init__(**kwargs)
        self.match = match

    def forward(self, images, data_samples):
        rel = super().forward(images, data_samples)
        for i, s in enumerate(data_samples):
            if self.match in s.metainfo['img_path']:
                rel[i, :, 10:20] = float('nan')
        return rel


def _runner(train_tool, config, work, *options, rel=None):
    argv = [str(config), '--work-dir', str(work), '--cfg-options', *options]
    cfg = train_tool.build_config(train_tool.parse_args(argv))
    if rel is not None:
        cfg.model.relative_depth = rel
    return Runner.from_cfg(cfg)


def test_nan_relative_depth_stops_training_naming_terms_and_images(tmp_path, train_tool,
                                                                   tiny_config):
    runner = _runner(train_tool, tiny_config, tmp_path, *short_run(2, 6),
                     rel=dict(type='NaNRowsRelativeDepth', match='train/indoor/0000_'))
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    msg = str(info.value)
    assert msg.startswith('iter 1 (epoch 1): non-finite loss loss_silog=nan')
    assert 'relative depth with NaN/inf in 1 of 6 images: ' in msg
    assert 'train/indoor/0000_rgb.png' in msg.split('; batch')[0]
    assert 'training stopped before the weights were updated' in msg
    assert "action='skip'" in msg
    assert not list(tmp_path.glob('*.pth'))  # nothing saved


def test_infinite_learning_rate_stops_training(tmp_path, train_tool, tiny_config):
    runner = _runner(train_tool, tiny_config, tmp_path, *short_run(2, 6),
                     'optim_wrapper.optimizer.lr=inf')
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    with pytest.raises(NonFiniteLossError, match=r'iter 1 \(epoch 1\): \d+ of \d+ trainable '
                       r'weight tensors became NaN/inf in the optimizer step although the loss '
                       r'was finite .*optim_wrapper\.optimizer\.lr \(now inf\)'):
        runner.train()
    assert not list(tmp_path.glob('*.pth'))
    assert before.keys() == runner.model.state_dict().keys()


def test_skip_mode_skips_and_counts(tmp_path, train_tool, tiny_config):
    # every batch holds the NaN image (batch 6 = the whole set): every step is skipped
    runner = _runner(train_tool, tiny_config, tmp_path, *short_run(2, 6),
                     'default_hooks.nonfinite_guard.action=skip',
                     rel=dict(type='NaNRowsRelativeDepth', match='train/indoor/0000_'))
    start = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    log = '\n'.join(p.read_text() for p in tmp_path.glob('*/*.log'))
    assert log.count('skipped the step, iter') == 2 and '(2 skipped)' in log
    assert 'nonfinite_skips: 2.0000' in log
    saved = weights(tmp_path / 'epoch_2.pth')
    for key, value in saved.items():  # no update happened, and what was saved is finite
        assert torch.isfinite(value).all() and torch.equal(value, start[key].cpu()), key


def test_batches_without_valid_gt_are_counted_and_warned(depth_batch, monkeypatch):
    warned = []
    monkeypatch.setattr(guard_module, 'print_log', lambda msg, **kw: warned.append(msg))
    hook = NonFiniteGuardHook()

    class _Runner:
        iter = 4
        message_hub = MessageHub.get_instance('tr2m_test_guard')

    _, samples = depth_batch(batch=3)
    samples[0].gt_valid.data[:] = False  # one image without valid GT: counted, no warning
    hook._samples = samples
    hook._count_empty_gt(_Runner)
    assert _Runner.message_hub.get_scalar('train/empty_gt_images').current() == 1
    assert warned == []
    for s in samples:  # a whole batch without valid GT: warned, naming the images
        s.gt_depth.data[:] = float('nan')
    hook._count_empty_gt(_Runner)
    assert _Runner.message_hub.get_scalar('train/empty_gt_images').current() == 3
    assert warned == ['iter 5: no image of the batch has a valid GT pixel, so its GT losses are '
                      '0 (check the depth decoding and range): img_0.png, img_1.png, img_2.png']


def test_action_is_checked():
    with pytest.raises(ValueError, match="action must be one of .*'stop', 'skip'.*got 'warn'"):
        NonFiniteGuardHook(action='warn')
