"""Fixtures of the engine tests: the tiny synthetic set, config and checkpoint of
``tests/test_apis/conftest.py``, the tools as modules, short training runs, and a toy TR2M with
a batch (CPU, random weights)."""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData

from tr2m.registry import MODELS
from tr2m.structures import DepthDataSample

_HERE = Path(__file__).resolve()
REPO = _HERE.parents[2]

_spec = importlib.util.spec_from_file_location(
    'tr2m_test_engine_apis_conftest', _HERE.parents[1] / 'test_apis' / 'conftest.py')
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
synthetic_root = _shared.synthetic_root
tiny_config = _shared.tiny_config
tiny_checkpoint = _shared.tiny_checkpoint


def load_tool(relpath: str):
    """A tool script as a module (``load_tool('tools/train.py').main([...])``)."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location('tr2m_engine_tool_' + path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def short_run(epochs: int, batch: int = 4, *extra: str) -> list:
    """``--cfg-options`` of a short run without validation, logging every iteration."""
    return [f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1000',
            f'train_dataloader.batch_size={batch}', 'default_hooks.logger.interval=1', *extra]


def weights(path) -> dict:
    """The state dict of a checkpoint (loaded with weights_only=True)."""
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def max_weight_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a
               if a[k].is_floating_point())


@pytest.fixture(scope='session')
def train_tool():
    return load_tool('tools/train.py')


TINY_TR2M = dict(
    type='TR2M',
    relative_depth=dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None),
    image_encoder=dict(type='DINOv2Encoder', arch='vit_tiny14', pretrained=None),
    text_encoder=dict(type='CLIPTextEncoder', arch='tiny', pretrained=None),
    neck=dict(type='CrossModalAttentionNeck', num_heads=4),
    scale_head=dict(type='RescaleHead', channels=16),
    shift_head=dict(type='RescaleHead', channels=16),
    loss_silog=dict(type='SiLogLoss', form='zoedepth'),
    loss_pseudo=dict(type='ThresholdedPseudoDepthLoss', form='zoedepth', rho=0.0),
    loss_smooth=dict(type='EdgeAwareSmoothnessLoss'),
    soc=dict(type='ScaleOrientedContrast',
             projector=dict(type='SOCProjector', hidden_channels=16, out_channels=16)))


@pytest.fixture
def tiny_tr2m():
    def build(**overrides):
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('tr2m'):
            return MODELS.build({**TINY_TR2M, **overrides})
    return build


@pytest.fixture
def tiny_batch():
    def make(n=2, size=(56, 70), seed=0):
        gen = torch.Generator().manual_seed(seed)
        samples = []
        for i in range(n):
            s = DepthDataSample(metainfo=dict(img_path=f'img{i}.png', sample_idx=i))
            depth = torch.rand(1, *size, generator=gen) * 9 + 1
            s.gt_depth = PixelData(data=depth)
            s.gt_valid = PixelData(data=depth > 2)
            s.caption = f'a room number {i} with a table'
            samples.append(s)
        images = (torch.rand(n, 3, *size, generator=gen) * 255).to(torch.uint8)
        return dict(inputs=list(images), data_samples=samples)
    return make
