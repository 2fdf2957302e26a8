"""tr2m/cache/transform.py: LoadCachedFeatures picks the cached view of each sample."""
import numpy as np
import pytest
import torch

from ._helpers import build_dataset, load


def test_flip_view_is_computed_not_mirrored(cached):
    config, root, meta = cached
    cfg = load(config)  # cache mode
    dataset = build_dataset(cfg).datasets[0]
    reader = dataset.pipeline.transforms[-1].reader
    key = next(iter(reader.rows))
    rel0, img0 = reader.image(key, False)
    rel1, img1 = reader.image(key, True)
    # the simulated relative depth is exactly mirrored, ViT tokens are not flip-equivariant
    np.testing.assert_allclose(rel1, rel0[:, ::-1], atol=2e-3 * np.abs(rel0).max())
    mirrored = img0[..., ::-1].astype(np.float32)
    assert np.abs(img1.astype(np.float32) - mirrored).max() > 0.1 * np.abs(mirrored).max()
    # the pipeline's RandomFlip picks the view
    flip = next(t for t in dataset.pipeline.transforms if type(t).__name__ == 'RandomFlip')
    for prob, ref in ((1.0, img1), (0.0, img0)):
        flip.prob = prob
        item = dataset[0]
        sample = item['data_samples']
        assert sample.flip is (prob == 1.0) and sample.cached_flip is (prob == 1.0)
        assert torch.equal(sample.img_feats, torch.from_numpy(ref))
        assert tuple(sample.rel_depth.shape) == tuple(item['inputs'].shape[-2:])
        assert 'text_pooled' not in sample  # captions are the text reader's


def test_misplaced_or_mismatched(cached):
    from tr2m.cache import LoadCachedFeatures
    from tr2m.utils.errors import DataError

    config = cached[0]
    dataset = build_dataset(load(config)).datasets[0]
    transform = dataset.pipeline.transforms[-1]
    with pytest.raises(ValueError, match='goes after PackDepthInputs'):
        transform(dict(img=np.zeros((2, 2, 3))))
    from tr2m.structures import DepthDataSample

    path = dataset.get_data_info(0)['img_path']
    item = dict(inputs=torch.zeros(3, 4, 4), data_samples=DepthDataSample(
        metainfo=dict(img_path=path)))
    assert isinstance(transform, LoadCachedFeatures)
    with pytest.raises(DataError, match=r'cached relative depth has size \(84, 112\) but the '
                                        r'pipeline gives the network \(4, 4\)'):
        transform(item)
