"""Every mmengine root registry has a tr2m child, and every component builds from a dict."""
import mmengine.registry as mm_registry
import pytest
import torch
from mmengine.registry import DefaultScope

from tr2m import registry
from tr2m.utils import register_all_modules

register_all_modules()

ROOT_NAMES = [n for n in dir(mm_registry) if n.isupper() and isinstance(
    getattr(mm_registry, n), mm_registry.Registry)]


@pytest.mark.parametrize('name', ROOT_NAMES)
def test_every_root_has_a_tr2m_child(name):
    child = getattr(registry, name)
    assert child.scope == 'tr2m'
    assert child.parent is getattr(mm_registry, name)
    assert child._locations, f'{name} has no locations'


def test_default_scope_comes_from_the_runtime_config():
    from mmengine.config import Config

    cfg = Config.fromfile('configs/_base_/default_runtime.py')
    assert cfg.default_scope == 'tr2m'


MODEL_CFGS = [
    dict(type='SiLogLoss'), dict(type='ThresholdedPseudoDepthLoss'),
    dict(type='EdgeAwareSmoothnessLoss'),
    dict(type='RescaleHead', in_channels=8, channels=8), dict(type='SOCProjector', in_channels=8),
    dict(type='CrossModalAttentionNeck', in_channels=8, text_channels=4),
    dict(type='DINOv2Encoder', arch='vit_tiny14', pretrained=None),
    dict(type='CLIPTextEncoder', arch='tiny', pretrained=None),
    dict(type='SentenceTextEncoder', arch='bert_tiny', pretrained=None),
    dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None),
    dict(type='SimulatedRelativeDepth'), dict(type='DepthDataPreprocessor'),
]


@pytest.mark.parametrize('cfg', MODEL_CFGS, ids=lambda c: c['type'])
def test_model_components_build_from_dicts(cfg):
    with DefaultScope.overwrite_default_scope('tr2m'):
        module = registry.MODELS.build(cfg)
    assert type(module).__name__ == cfg['type']
    assert isinstance(module, torch.nn.Module)


@pytest.mark.parametrize('cfg', [
    dict(type='LoadRGBImage'), dict(type='LoadDepth'), dict(type='LoadRelativeDepth'),
    dict(type='LoadCaption', mode='random'), dict(type='Resize', scale=(28, 28)),
    dict(type='RandomFlip'), dict(type='RandomCrop', crop_size=(14, 14)), dict(type='KBCrop'),
    dict(type='CenterCrop', crop_size=(14, 14)), dict(type='PackDepthInputs'),
], ids=lambda c: c['type'])
def test_transforms_build_from_dicts(cfg):
    with DefaultScope.overwrite_default_scope('tr2m'):
        assert type(registry.TRANSFORMS.build(cfg)).__name__ == cfg['type']


def test_metric_hooks_and_dataset_build_from_dicts(rgbd_real):
    with DefaultScope.overwrite_default_scope('tr2m'):
        assert type(registry.METRICS.build(dict(type='DepthMetric'))).__name__ == 'DepthMetric'
        for hook in (dict(type='SOCMomentumHook'),
                     dict(type='DepthVisualizationHook', out_dir='x')):
            assert type(registry.HOOKS.build(hook)).__name__ == hook['type']
        ds = registry.DATASETS.build(dict(type='DepthManifestDataset', data_root=str(rgbd_real),
                                          ann_file='manifest.json', pipeline=[]))
        assert len(ds) == 59


def test_unknown_type_and_unknown_argument_fail_clearly():
    with DefaultScope.overwrite_default_scope('tr2m'):
        with pytest.raises(KeyError, match='NoSuchHead'):
            registry.MODELS.build(dict(type='NoSuchHead'))
        with pytest.raises(TypeError, match='chanels'):
            registry.MODELS.build(dict(type='RescaleHead', in_channels=8, chanels=8))
