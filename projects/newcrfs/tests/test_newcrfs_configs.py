"""Every NeWCRFs config parses, loads the package through ``custom_imports``, builds on CPU with
the toy preset and trains / predicts one step; the released recipe is what the configs say."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS

from tr2m.registry import MODELS
from tr2m.utils import register_all_modules

CONFIGS = sorted((Path(__file__).resolve().parents[1] / 'configs').glob('*.py'))
register_all_modules()


def load(name):
    return Config.fromfile(str(next(p for p in CONFIGS if p.stem == name)))


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds_trains_and_predicts(path, depth_batch):
    cfg = Config.fromfile(str(path))
    assert cfg.custom_imports.imports == ['projects.newcrfs.newcrfs']
    model_cfg = dict(cfg.model.to_dict(), arch='toy', pretrained=None)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    inputs, samples = depth_batch(size=(64, 64))
    model.train()
    log = model.train_step(dict(inputs=inputs, data_samples=samples), optim)
    assert torch.isfinite(log['loss'])
    model.eval()
    inputs, samples = depth_batch(size=(64, 64), gt_size=(60, 72), seed=1)
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    for s in preds:
        d = s.pred_depth.data
        assert s.pred_depth.shape == (60, 72) and (d > 0).all() and (d <= model.max_depth).all()


@pytest.mark.parametrize('name, max_depth, min_depth, angle, crop', [
    ('newcrfs_swin_l_nyu', 10.0, 0.1, 2.5, None),
    ('newcrfs_swin_l_kitti', 80.0, 1.0, 1.0, (352, 1120)),
])
def test_released_recipe(name, max_depth, min_depth, angle, crop):
    cfg = load(name)
    assert (cfg.model.arch, cfg.model.pretrained) == ('large07', 'default')
    assert cfg.model.max_depth == max_depth and cfg.model.loss.min_depth == min_depth
    assert cfg.model.loss.variance_focus == 0.85 and cfg.model.flip_test
    train = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert train['RandomRotate'].max_angle == angle
    assert (train['RandomCrop'].crop_size if 'RandomCrop' in train else None) == crop
    assert 'LoadCaption' not in train and cfg.train_dataloader.dataset.caption_source is None
    # no resize anywhere: every released size is a multiple of 32
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        assert 'Resize' not in {t.type for t in loader.dataset.pipeline}
    assert cfg.train_dataloader.batch_size == 8 and cfg.train_cfg.max_epochs == 50
    opt = cfg.optim_wrapper.optimizer
    # what ran: Adam(params, lr) -- the weight decay and eps of the argument files never arrive
    assert (opt.type, opt.lr, opt.weight_decay, opt.eps) == ('Adam', 2e-5, 0.0, 1e-8)
    (sched,) = cfg.param_scheduler
    assert (sched.type, sched.eta_min, sched.power, sched.end) == ('PolyLR', 2e-6, 0.9, 50)
    assert sched.convert_to_iter_based


def test_poly_schedule_against_the_released_closed_form():
    cfg = load('newcrfs_swin_l_nyu')
    param = torch.nn.Parameter(torch.zeros(1))
    optim = torch.optim.Adam([param], lr=cfg.optim_wrapper.optimizer.lr)
    sched_cfg = dict(cfg.param_scheduler[0], by_epoch=False, end=100)
    sched_cfg.pop('convert_to_iter_based')
    sched = PARAM_SCHEDULERS.build(dict(sched_cfg, optimizer=optim))
    for step in range(100):  # mmengine's PolyLR decays over N - 1 steps
        closed = (2e-5 - 2e-6) * (1 - step / 99) ** 0.9 + 2e-6
        assert optim.param_groups[0]['lr'] == pytest.approx(closed, rel=1e-9)
        optim.step()
        sched.step()
    # the released schedule decays over N (newcrfs/train.py); on NYUv2 (24,231 frames, batch 8,
    # 50 epochs) the two differ by less than 1e-9 in absolute learning rate
    n = 50 * 3029
    t = torch.arange(n, dtype=torch.float64)
    ours = (2e-5 - 2e-6) * (1 - t / (n - 1)) ** 0.9 + 2e-6
    released = (2e-5 - 2e-6) * (1 - t / n) ** 0.9 + 2e-6
    assert (ours - released).abs().max() < 1e-9
