"""NeWCRFs with and without SOC on real frames: ``loss_soc`` only with SOC, the same depth loss
from the same seed, the SOC gradient reaching the CRF decoder (and only what precedes the
contrasted stage), and the real ``SOCMomentumHook`` moving the EMA copy in an mmengine Runner."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from tr2m.registry import DATASETS, MODELS
from tr2m.utils import register_all_modules

register_all_modules()
PROJECTS = Path(__file__).resolve().parents[2]
SOC_CFG = PROJECTS / 'newcrfs_soc' / 'configs' / 'newcrfs_soc_toy_synthetic.py'
PLAIN_CFG = PROJECTS / 'newcrfs' / 'configs' / 'newcrfs_toy_synthetic.py'
SOC_KEYS = {'loss_soc', 'soc_pos_frac', 'soc_other_dataset_frac', 'soc_cos_pos', 'soc_cos_neg'}


def real_pipeline(size):
    return [dict(type='LoadRGBImage'), dict(type='LoadDepth'),
            dict(type='Resize', scale=size, resize_depth=True), dict(type='PackDepthInputs')]


def real_batch(rgbd_real, datasets, size):
    with DefaultScope.overwrite_default_scope('tr2m'):
        ds = DATASETS.build(dict(type='DepthManifestDataset', data_root=str(rgbd_real),
                                 ann_file='manifest.json', datasets=datasets,
                                 pipeline=real_pipeline(size)))
    return pseudo_collate([ds[i] for i in range(len(ds))])


def build(path, seed=0, soc=None, **overrides):
    """The config's model with ``overrides`` (and ``soc`` keys merged into its SOC entry)."""
    torch.manual_seed(seed)
    cfg = Config.fromfile(str(path)).model.to_dict()
    cfg.update(overrides)
    if soc:
        cfg['soc'].update(soc)
    return MODELS.build(cfg).train()


@pytest.mark.parametrize('momentum_modules', [['backbone', 'decode_head'], None])
def test_soc_adds_loss_soc_and_its_gradient_reaches_the_decoder(rgbd_real, momentum_modules):
    """Real NYUv2 frames (64 x 96): from one seed the two models hold the same NeWCRFs and give
    the same depth loss; only the SOC one adds ``loss_soc``, whose gradient alone reaches the
    finest CRF stage, the coarser stages and the backbone (everything that produces the
    contrasted feature), not the disparity head after it nor the momentum branch."""
    plain = build(PLAIN_CFG, max_depth=10.0)
    soc = build(SOC_CFG, max_depth=10.0, soc=dict(momentum_modules=momentum_modules))
    data = plain.data_preprocessor(real_batch(rgbd_real, ['nyu_v2'], (64, 96)), True)
    out_plain, out_soc = plain(**data, mode='loss'), soc(**data, mode='loss')
    assert set(out_plain) == {'loss_silog'}
    assert set(out_soc) == {'loss_silog'} | SOC_KEYS
    torch.testing.assert_close(out_soc['loss_silog'], out_plain['loss_silog'])
    assert torch.isfinite(out_soc['loss_soc']) and out_soc['loss_soc'] > 0
    assert out_soc['soc_pos_frac'] == 1.0  # every labelled cell has a positive among its keys

    named = {n: p for n, p in soc.named_parameters() if p.requires_grad}
    grads = dict(zip(named, torch.autograd.grad(out_soc['loss_soc'], list(named.values()),
                                                allow_unused=True)))

    def norm(prefix):
        got = [g for n, g in grads.items() if n.startswith(prefix) and g is not None]
        return float(sum((g ** 2).sum() for g in got)) ** 0.5 if got else 0.0

    crf0 = [n for n in named if n.startswith('decode_head.crf_blocks.0.')]
    reached = [n for n in crf0 if grads[n] is not None and grads[n].abs().sum() > 0]
    assert len(reached) == len(crf0)  # every parameter of the contrasted stage
    for prefix in ('decode_head.crf_blocks.1.', 'decode_head.crf_blocks.3.',
                   'decode_head.psp.', 'backbone.', 'soc.projector.'):
        assert norm(prefix) > 0, prefix
    assert norm('decode_head.disp_head.') == 0.0  # after the feature
    assert not any(n.startswith(('soc.momentum_branch.', 'soc.momentum_projector.'))
                   for n in named)


def test_a_few_steps_on_real_frames(rgbd_real):
    """Four Adam steps with SOC on real NYUv2 frames and on sparse KITTI LiDAR GT (only the
    cells with a measured pixel are labelled): finite losses, the SOC term falls."""
    model = build(SOC_CFG, max_depth=10.0)
    optim = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    data = model.data_preprocessor(real_batch(rgbd_real, ['nyu_v2'], (64, 96)), True)
    socs = []
    for _ in range(4):
        out = model(**data, mode='loss')
        optim.zero_grad()
        (out['loss_silog'] + out['loss_soc']).backward()
        optim.step()
        model.soc.momentum_update()
        assert torch.isfinite(out['loss_silog'])
        socs.append(out['loss_soc'].item())
    assert socs[-1] < socs[0], socs
    kitti = build(SOC_CFG, max_depth=80.0,
                  loss=dict(type='NeWCRFsSiLogLoss', min_depth=1.0))
    data = kitti.data_preprocessor(real_batch(rgbd_real, ['kitti'], (96, 320)), True)
    out = kitti(**data, mode='loss')
    assert torch.isfinite(out['loss_soc']) and out['loss_soc'] > 0
    assert 0 < out['soc_pos_frac'] <= 1


class _RecordEMA(Hook):
    """Records the live CRF stage and its EMA copy around the momentum hook's update."""

    def __init__(self, priority, log):
        self.priority, self.log = priority, log

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        model = runner.model
        live = [p.detach().clone() for p in model.decode_head.crf_blocks[0].parameters()]
        ema = [p.detach().clone() for p in model.soc.momentum_branch[1].crf_blocks[0].parameters()]
        self.log.append((self.priority, live, ema, dict(outputs)))


def test_runner_and_momentum_hook_move_the_ema_copy(rgbd_real, tmp_path):
    """The demo config run by mmengine's Runner for three iterations on real frames: after each
    optimizer step the real ``SOCMomentumHook`` (from default_runtime.py) sets the EMA copy to
    ``m * ema + (1 - m) * live``; the copy moves, and stays apart from the live weights."""
    cfg = Config.fromfile(str(SOC_CFG))
    cfg.model.max_depth = 10.0
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader = dict(
        batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='pseudo_collate'),
        dataset=dict(type='DepthManifestDataset', data_root=str(rgbd_real),
                     ann_file='manifest.json', datasets=['nyu_v2'],
                     pipeline=real_pipeline((64, 96))))
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    log = []
    hooks = {h['type'] for h in cfg.default_hooks.values() if h is not None}
    assert {'SOCMomentumHook', 'LossBalanceHook'} <= hooks
    runner = Runner.from_cfg(cfg)
    for priority in ('HIGH', 'LOW'):  # around the momentum hook (NORMAL)
        runner.register_hook(_RecordEMA(priority, log))
    initial = [p.detach().clone() for p in runner.model.decode_head.crf_blocks[0].parameters()]
    runner.train()
    assert [entry[0] for entry in log] == ['HIGH', 'LOW'] * 3  # three frames, batch 1
    m = runner.model.soc.momentum
    assert m == 0.999
    for (_, live, ema_before, outputs), (_, live_after, ema_after, _) in zip(log[::2],
                                                                             log[1::2]):
        assert 'loss_soc' in outputs and torch.isfinite(outputs['loss_soc'])
        for q, k0, k1, q1 in zip(live, ema_before, ema_after, live_after):
            torch.testing.assert_close(q1, q)  # the hook leaves the live weights alone
            torch.testing.assert_close(k1, m * k0 + (1 - m) * q, rtol=0, atol=1e-7)
        assert any(not torch.equal(k0, k1) for k0, k1 in zip(ema_before, ema_after))
    # the EMA copy started as the live stage and trails it
    first_ema = log[0][2]
    assert all(torch.equal(a, b) for a, b in zip(first_ema, initial))
    final_live, final_ema = log[-1][1], log[-1][2]
    assert any(not torch.equal(a, b) for a, b in zip(final_live, final_ema))
