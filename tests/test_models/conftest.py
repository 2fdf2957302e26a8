"""Shared fixtures of the model tests: single-threaded torch, tiny batches with GT and captions."""
import pytest
import torch
from mmengine.structures import PixelData

from tr2m.structures import DepthDataSample
from tr2m.utils import register_all_modules

CAPTIONS = ['A bedroom with a bed, a lamp and a window.', 'A street with parked cars and trees.']

register_all_modules()


@pytest.fixture
def depth_batch():
    """``depth_batch(size=(56, 56), gt_size=None, batch=2, seed=0) -> (inputs, samples)``:
    images in [0, 1] and samples with ``gt_depth`` (1-6 m ramp, 20% holes), ``gt_valid``,
    ``caption`` and metainfo (``img_path``, ``ori_shape``, ``protocol``)."""

    def make(size=(56, 56), gt_size=None, batch=2, seed=0):
        gen = torch.Generator().manual_seed(seed)
        h, w = size
        gh, gw = gt_size or size
        inputs = torch.rand(batch, 3, h, w, generator=gen)
        samples = []
        for i in range(batch):
            ramp = torch.linspace(1.0, 6.0, gh)[:, None].expand(gh, gw)
            depth = (ramp * (1 + 0.2 * torch.rand(gh, gw, generator=gen)))[None]
            valid = torch.rand(1, gh, gw, generator=gen) > 0.2
            s = DepthDataSample(metainfo=dict(
                img_path=f'img_{i}.png', ori_shape=(gh, gw), img_shape=(h, w),
                dataset_name='toy',
                protocol=dict(min_depth=1e-3, max_depth=10.0, crop=None, units='m')))
            s.gt_depth = PixelData(data=torch.where(valid, depth, torch.zeros_like(depth)))
            s.gt_valid = PixelData(data=valid)
            s.caption = CAPTIONS[i % len(CAPTIONS)]
            samples.append(s)
        return inputs, samples

    return make
