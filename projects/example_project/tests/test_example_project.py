"""The template project: its config loads the package through ``custom_imports``, builds on
CPU, takes optimizer steps that lower the loss on real frames, and predicts at the GT size."""
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from tr2m.registry import DATASETS, MODELS
from tr2m.utils import register_all_modules

CONFIG = Path(__file__).resolve().parents[1] / 'configs' / 'example_depther_synthetic.py'

register_all_modules()


def real_frames(rgbd_real, size=(64, 96)):
    """The 3 NYUv2 frames of ``rgbd_real`` resized to ``size`` (GT with them), as a batch."""
    pipe = [dict(type='LoadRGBImage'), dict(type='LoadDepth'),
            dict(type='Resize', scale=size), dict(type='PackDepthInputs')]
    with DefaultScope.overwrite_default_scope('tr2m'):
        ds = DATASETS.build(dict(type='DepthManifestDataset', data_root=str(rgbd_real),
                                 ann_file='manifest.json', datasets=['nyu_v2'], pipeline=pipe))
    return pseudo_collate([ds[i] for i in range(len(ds))])


def test_config_registers_and_builds_the_component():
    cfg = Config.fromfile(str(CONFIG))  # runs custom_imports
    assert cfg.custom_imports.imports == ['projects.example_project.example_project']
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'ExampleConvDepther' and model.max_depth == 80.0
    assert MODELS.get('ExampleConvDepther') is type(model)


def test_training_steps_lower_the_loss_on_real_frames(rgbd_real):
    cfg = Config.fromfile(str(CONFIG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = real_frames(rgbd_real)
    model.train()
    first = model.train_step(batch, optim)
    assert set(first) == {'loss_depth', 'loss', 'pred_mean_depth'}  # diagnostics stay apart
    for _ in range(30):
        last = model.train_step(batch, optim)
    assert torch.isfinite(last['loss']) and last['loss'] < 0.5 * first['loss']


def test_predict_is_bounded_positive_depth_at_gt_size(depth_batch):
    cfg = Config.fromfile(str(CONFIG))
    model = MODELS.build(cfg.model).eval()
    inputs, samples = depth_batch(size=(48, 64), gt_size=(60, 72))
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    for s in preds:
        assert s.pred_depth.shape == (60, 72)
        assert (s.pred_depth.data > 0).all() and (s.pred_depth.data <= 80.0).all()


def test_soc_from_the_config_alone_on_real_frames(rgbd_real):
    """``soc=`` in the config: the template's one ``attach_soc`` line gives it TR2M's
    scale-oriented contrast on its encoder's output, with an EMA copy of the encoder."""
    cfg = Config.fromfile(str(CONFIG))
    soc = dict(type='ScaleOrientedContrast', feature='encoder', in_channels=64,
               projector=dict(type='SOCProjector', hidden_channels=16, out_channels=16))
    torch.manual_seed(0)
    model = MODELS.build(dict(cfg.model, soc=soc))
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    out = model.train_step(real_frames(rgbd_real), optim)
    assert {'loss_depth', 'loss_soc', 'soc_pos_frac'} <= set(out)
    assert torch.isfinite(out['loss_soc']) and out['loss_soc'] > 0
    ema = [p.detach().clone() for p in model.soc.momentum_branch[0].parameters()]
    model.soc.momentum_update()  # what SOCMomentumHook does after the step
    m = model.soc.momentum
    for before, live, after in zip(ema, model.encoder.parameters(),
                                   model.soc.momentum_branch[0].parameters()):
        torch.testing.assert_close(after, m * before + (1 - m) * live.detach())
