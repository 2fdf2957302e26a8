"""DepthDataPreprocessor: uint8 to the device, float there; equal to the CPU conversion."""
import pytest
import torch

from tr2m.models.data_preprocessor import DepthDataPreprocessor
from tr2m.structures import DepthDataSample


def _images(n=3, hw=(6, 5), seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (3, *hw), generator=g, dtype=torch.uint8) for _ in range(n)]


def test_list_of_uint8_equals_the_cpu_conversion():
    imgs = _images()
    out = DepthDataPreprocessor()(dict(inputs=imgs, data_samples=[DepthDataSample()] * 3))
    ref = torch.stack(imgs).float() / 255.0  # what the preprocessor did before
    assert out['inputs'].dtype == torch.float32 and out['inputs'].shape == (3, 3, 6, 5)
    assert torch.allclose(out['inputs'], ref, atol=1e-6, rtol=0)
    assert out['inputs'][0, 0, 0, 0] == imgs[0][0, 0, 0].item() / 255.0
    assert out['inputs'].min() >= 0 and out['inputs'].max() <= 1


def test_stacked_and_float_inputs():
    imgs = torch.stack(_images(2))
    out = DepthDataPreprocessor()(dict(inputs=imgs))
    assert torch.allclose(out['inputs'], imgs.float() / 255.0, atol=1e-6, rtol=0)
    floats = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    assert torch.equal(DepthDataPreprocessor()(dict(inputs=floats))['inputs'], floats.float())


def test_mixed_sizes_list_and_errors():
    imgs = _images(1, (4, 4)) + _images(1, (6, 5), seed=1)
    out = DepthDataPreprocessor(mixed_sizes='list')(dict(inputs=imgs))
    assert [tuple(x.shape) for x in out['inputs']] == [(3, 4, 4), (3, 6, 5)]
    assert all(torch.allclose(o, i.float() / 255.0, atol=1e-6, rtol=0)
               for o, i in zip(out['inputs'], imgs))
    with pytest.raises(ValueError, match='share their size'):
        DepthDataPreprocessor()(dict(inputs=imgs))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        DepthDataPreprocessor()(dict(inputs=[torch.zeros(1, 4, 4, dtype=torch.uint8)] * 2))


def test_pinned_inputs_non_blocking():
    assert DepthDataPreprocessor().cast_data.__self__._non_blocking is True
    imgs = _images(2)
    out = DepthDataPreprocessor()(dict(inputs=imgs))
    assert out['inputs'].device == torch.device('cpu')
