"""A toy TR2M and a batch for the engine tests (CPU, random weights)."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData

from tr2m.registry import MODELS
from tr2m.structures import DepthDataSample

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
