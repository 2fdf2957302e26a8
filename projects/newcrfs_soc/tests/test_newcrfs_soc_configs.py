"""The NeWCRFs + SOC configs are the NeWCRFs configs plus a ``soc`` entry (nothing else
changes), build and train a step with the toy preset, and cost what their comments say (full
size, on the meta device)."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from tr2m.registry import MODELS
from tr2m.utils import register_all_modules

register_all_modules()
PROJECTS = Path(__file__).resolve().parents[2]
SOC_CONFIGS = PROJECTS / 'newcrfs_soc' / 'configs'
BASE_CONFIGS = PROJECTS / 'newcrfs' / 'configs'
#: SOC config -> the NeWCRFs config it adds SOC to
PAIRS = {'newcrfs_soc_swin_l_nyu': 'newcrfs_swin_l_nyu',
         'newcrfs_soc_swin_l_kitti': 'newcrfs_swin_l_kitti',
         'newcrfs_soc_toy_synthetic': 'newcrfs_toy_synthetic'}
#: ``NeWCRFs(arch='large07')`` (projects/newcrfs/tests/test_newcrfs_model.py) and its finest
#: CRF stage, counted with the released code
FULL, CRF0 = 270_444_877, 660_296
#: SOCProjector(128 -> 160 -> 160): 128 * 160 + 160 + 160 * 160 + 160
PROJECTOR_128 = 46_400


def load(name: str) -> Config:
    folder = SOC_CONFIGS if (SOC_CONFIGS / f'{name}.py').exists() else BASE_CONFIGS
    return Config.fromfile(str(folder / f'{name}.py'))


def test_every_config_is_covered():
    assert {p.stem for p in SOC_CONFIGS.glob('*.py')} == set(PAIRS) | {
        'newcrfs_soc_cheap_toy_synthetic', 'newcrfs_soc_swin_l_nyu_ibims'}


def test_ibims_config_changes_only_the_test_set():
    """Table 8's zero-shot column: the NYUv2 model (with or without SOC) on iBims-1, the whole
    480 x 640 frame as in NYUv2 (no resize, no captions)."""
    ibims, nyu = load('newcrfs_soc_swin_l_nyu_ibims').to_dict(), load(
        'newcrfs_soc_swin_l_nyu').to_dict()
    test = ibims.pop('test_dataloader')
    nyu.pop('test_dataloader')
    assert ibims == nyu  # the same model, training set, schedule, evaluator
    assert test['dataset']['type'] == 'IBims1Dataset' and test['dataset']['caption_source'] is None
    assert [t['type'] for t in test['dataset']['pipeline']] == ['LoadRGBImage', 'LoadDepth',
                                                                'PackDepthInputs']
    from tr2m.utils.config import load_config

    plain = load_config(str(SOC_CONFIGS / 'newcrfs_soc_swin_l_nyu_ibims.py'), {'model.soc': None})
    assert plain.model.soc is None  # what a plain NeWCRFs checkpoint is tested with


@pytest.mark.parametrize('soc_name, base_name', PAIRS.items())
def test_soc_config_is_the_newcrfs_config_plus_soc(soc_name, base_name):
    soc, base = load(soc_name).to_dict(), load(base_name).to_dict()
    soc_model = soc.pop('model')
    assert soc_model.pop('soc') == dict(
        type='ScaleOrientedContrast', feature='decode_head.crf_blocks.0',
        momentum_modules=['backbone', 'decode_head'], projector=dict(type='SOCProjector'),
        momentum=0.999, num_classes=20, loss_weight=0.1, negative_reduction='sum',
        label_order='classify_then_reduce', reduce='mode', class_range='image', queue_size=0,
        feature_stride=4)
    assert soc_model == base.pop('model')
    assert soc.pop('work_dir') == f'work_dirs/{soc_name}' != base.pop('work_dir')
    assert soc == base  # data, schedule, runtime, custom_imports: untouched


def test_cheap_config_changes_only_the_momentum_branch():
    cheap, full = load('newcrfs_soc_cheap_toy_synthetic').to_dict(), load(
        'newcrfs_soc_toy_synthetic').to_dict()
    assert cheap['model']['soc'].pop('momentum_modules') is None
    full['model']['soc'].pop('momentum_modules')
    assert cheap.pop('work_dir') != full.pop('work_dir')
    assert cheap == full


@pytest.mark.parametrize('name', sorted(p.stem for p in SOC_CONFIGS.glob('*.py')))
def test_config_builds_trains_and_predicts(name, depth_batch):
    cfg = load(name)
    torch.manual_seed(0)
    model = MODELS.build(dict(cfg.model.to_dict(), arch='toy', pretrained=None))
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    inputs, samples = depth_batch(size=(64, 64), batch=3)
    model.train()
    ema = [p.clone() for p in model.soc.momentum_branch.parameters()]
    projector = [p.clone() for p in model.soc.projector.parameters()]
    log = model.train_step(dict(inputs=inputs, data_samples=samples), optim)
    assert torch.isfinite(log['loss']) and log['loss_soc'] > 0
    # the step trains the projector; only the momentum update (a hook) moves the EMA copy
    assert all(not torch.equal(a, p) for a, p in zip(projector, model.soc.projector.parameters()))
    assert all(torch.equal(a, p) for a, p in zip(ema, model.soc.momentum_branch.parameters()))
    model.eval()
    inputs, samples = depth_batch(size=(64, 64), gt_size=(60, 72), seed=1)
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    assert all(s.pred_depth.shape == (60, 72) and (s.pred_depth.data > 0).all() for s in preds)


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('momentum_modules, branch', [
    (['backbone', 'decode_head'], FULL),  # the whole network: MoCo's key encoder
    (None, CRF0),  # the contrasted stage only
])
def test_full_size_cost(momentum_modules, branch):
    """What SOC adds to the released NeWCRFs: a 46.4k-parameter projector that trains, and a
    momentum branch (EMA copies of the network or of one stage, and of the projector)."""
    cfg = load('newcrfs_soc_swin_l_nyu').model.to_dict()
    cfg.update(pretrained=None)
    cfg['soc']['momentum_modules'] = momentum_modules
    with torch.device('meta'):  # no memory, no initialisation cost
        model = MODELS.build(cfg)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == FULL + PROJECTOR_128
    assert count(model.soc.projector) == count(model.soc.momentum_projector) == PROJECTOR_128
    assert count(model.soc.momentum_branch) == branch
    assert not any(p.requires_grad for p in model.soc.momentum_branch.parameters())
    assert count(model) == FULL + 2 * PROJECTOR_128 + branch
