"""GPU code paths (run on a CUDA machine with ``pytest -m gpu``; excluded from CPU CI)."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData

from tr2m.registry import MODELS
from tr2m.structures import DepthDataSample

pytestmark = pytest.mark.gpu

TINY = dict(
    type='TR2M',
    relative_depth=dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None),
    image_encoder=dict(type='DINOv2Encoder', arch='vit_tiny14', pretrained=None),
    text_encoder=dict(type='CLIPTextEncoder', arch='tiny', pretrained=None),
    neck=dict(type='CrossModalAttentionNeck', num_heads=4),
    scale_head=dict(type='RescaleHead', channels=16),
    shift_head=dict(type='RescaleHead', channels=16),
    loss_pseudo=dict(type='ThresholdedPseudoDepthLoss'),
    loss_smooth=dict(type='EdgeAwareSmoothnessLoss'),
    soc=dict(type='ScaleOrientedContrast',
             projector=dict(type='SOCProjector', hidden_channels=16, out_channels=16)))


def batch(device, n=4, size=(112, 140)):
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i in range(n):
        s = DepthDataSample(metainfo=dict(img_path=f'img{i}.png'))
        depth = torch.rand(1, *size, generator=gen) * 9 + 1
        s.gt_depth = PixelData(data=depth)
        s.gt_valid = PixelData(data=depth > 2)
        s.caption = ['a room', 'a street'][i % 2]
        samples.append(s)
    images = (torch.rand(n, 3, *size, generator=gen) * 255).to(torch.uint8)
    return dict(inputs=list(images), data_samples=samples)


def test_bf16_autocast_train_step_matches_fp32():
    assert torch.cuda.is_available(), 'gpu tests need CUDA (CPU runs deselect them: -m "not gpu")'
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('tr2m'):
        model = MODELS.build(TINY).cuda().train()
    data = model.data_preprocessor(batch('cuda'), True)
    fp32 = model(**data, mode='loss')
    torch.cuda.reset_peak_memory_stats()
    with torch.autocast('cuda', dtype=torch.bfloat16):
        bf16 = model(**data, mode='loss')
    total = sum(v for k, v in bf16.items() if 'loss' in k)
    total.backward()
    assert torch.isfinite(total)
    for key in ('loss_silog', 'loss_pseudo', 'loss_soc'):
        torch.testing.assert_close(bf16[key].float(), fp32[key].float(), rtol=0.05, atol=0.02)
    assert torch.cuda.max_memory_allocated() < 2 * 1024 ** 3
