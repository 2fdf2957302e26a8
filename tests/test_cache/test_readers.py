"""tr2m/cache/readers.py: a cache-mode TR2M equals an uncached one (same initial weights, same
first-step losses and gradients), and what the readers refuse."""
import numpy as np
import pytest
import torch

from tr2m.utils.errors import ConfigError, DataError

from ._helpers import build_dataset, build_model, load


def perturb(model):
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=gen) * 0.1)


def _items(cfg):
    dataset = build_dataset(cfg)
    np.random.seed(3)
    items = [dataset[i] for i in range(len(dataset))]  # same flips and captions
    return dict(inputs=[d['inputs'] for d in items],
                data_samples=[d['data_samples'] for d in items])


def test_first_step_losses_equal_with_and_without_cache(cached):
    config = cached[0]
    losses, grads, init = {}, {}, {}
    for mode in (False, True):
        cfg = load(config, cache=mode)
        model = build_model(cfg)
        init[mode] = {k: p.detach().clone() for k, p in model.named_parameters()
                      if p.requires_grad}
        perturb(model)  # so that the features, not the zero-init heads, decide the losses
        data = _items(cfg)
        model.train()
        out = model(**model.data_preprocessor(data, True), mode='loss')
        sum(v for k, v in out.items() if 'loss' in k).backward()
        losses[mode] = {k: float(v.detach()) for k, v in out.items()}
        grads[mode] = {k: p.grad.clone() for k, p in model.named_parameters() if p.requires_grad}
    assert init[True].keys() == init[False].keys()  # the frozen-build RNG: same trainable init
    assert all(torch.equal(init[True][k], v) for k, v in init[False].items())
    assert set(losses[False]) == set(losses[True])
    for key in ('loss_silog', 'loss_pseudo', 'loss_soc', 'loss_smooth'):
        assert losses[True][key] == pytest.approx(losses[False][key], rel=1e-3), key
    assert losses[False]['loss_soc'] > 0 and losses[False]['loss_smooth'] > 0
    assert grads[True].keys() == grads[False].keys()  # the same trainable parameters
    diff = torch.sqrt(sum(((grads[True][k] - g) ** 2).sum() for k, g in grads[False].items()))
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads[False].values()))
    assert diff <= 1e-3 * norm


def test_cached_text_equals_the_part_tables(cached):
    from tr2m.cache import CachedTextEncoder, PartReader

    config, root, meta = cached
    encoder = CachedTextEncoder(str(root))
    assert (encoder.out_channels, encoder.token_channels) == (32, 32)
    pid = sorted(meta['parts'])[0]
    part = PartReader(str(root / pid))
    dataset = build_dataset(load(config, cache=False), 'test_dataloader')
    captions = [dataset.get_data_info(i)['captions'][0] for i in range(2)]
    emb = encoder(captions)
    assert emb.pooled.dtype == torch.float32 and emb.tokens.shape == (2, 0, 32)
    for row, caption in zip(emb.pooled, captions):
        found = next(f for f in (PartReader(str(root / p)).find_text(caption)
                                 for p in sorted(meta['parts'])) if f is not None)
        assert torch.equal(row, torch.from_numpy(found[0]).float())
    assert part.text_width == 32
    with pytest.raises(DataError, match="caption 'a caption nobody wrote' is not in the "
                                        'feature cache'):
        encoder(['a caption nobody wrote'])
    with pytest.raises(ConfigError, match="text_tokens='all'.*pooled caption embeddings only"):
        encoder.keep_tokens = True  # the demo cache keeps pooled embeddings only


def test_a_sample_without_cached_features_names_the_image(cached):
    from tr2m.cache import CachedImageEncoder, CachedRelativeDepth
    from tr2m.structures import DepthDataSample

    config, root, _ = cached
    images = torch.zeros(1, 3, 84, 112)
    bare = DepthDataSample(metainfo=dict(img_path='/data/x.png'))
    with pytest.raises(DataError, match=r'/data/x.png: no cached image tokens \(img_feats\).*'
                                        'must end with LoadCachedFeatures'):
        CachedImageEncoder(str(root))(images, [bare])
    with pytest.raises(DataError, match=r'/data/x.png: no cached relative depth'):
        CachedRelativeDepth(str(root))(images, [bare])
    with pytest.raises(DataError, match='no data samples were given'):
        CachedImageEncoder(str(root))(images, None)
    # tokens of the unflipped view on a sample flipped afterwards (flip TTA) are refused
    model = build_model(load(config))
    sample = build_dataset(load(config), 'test_dataloader')[0]['data_samples']
    assert sample.cached_flip is False
    from tr2m.models.tta import flip_sample

    flipped = flip_sample(sample, 112)
    with pytest.raises(DataError, match='cached image tokens are of the unflipped view but the '
                                        'sample is flipped'):
        model.image_encoder(images, [flipped])
    with pytest.raises(ConfigError, match='other frozen models'):
        CachedImageEncoder(str(root), frozen_digest='0' * 16)
