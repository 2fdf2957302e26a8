"""tr2m/cache/mode.py: a config with cache=dict(root=...) switched to cache mode, the
refusals that name what differs, and configs dumped in cache mode."""
import pytest

from tr2m.cache.mode import apply_feature_cache, cached_components, reads_cache
from tr2m.utils.errors import ConfigError

from ._helpers import build_model, load


def test_refusals_name_what_differs(cached, tmp_path):
    config = cached[0]
    with pytest.raises(ConfigError,
                       match=r'image_encoder\.input_size: not in the cache, config 28'):
        load(config, options={'model.image_encoder.input_size': 28})
    with pytest.raises(ConfigError, match=r'seed: cache 0, config 1'):  # random frozen weights
        load(config, options={'randomness.seed': 1})
    with pytest.raises(ConfigError, match=r'preprocessing differs.*transforms\[1\]\.scale: '
                                          r'cache \[84, 112\], config \[70, 98\]'):
        load(config, options={'val_dataloader.dataset.pipeline.1.scale': (70, 98)})
    with pytest.raises(FileNotFoundError, match='no feature cache at .* tools/cache_features.py'):
        load(config, options={'cache.root': str(tmp_path / 'none')})


def test_frozen_models_not_built_in_cache_mode(cached, monkeypatch):
    config, root, _ = cached
    from tr2m.cache import CachedImageEncoder, CachedRelativeDepth, CachedTextEncoder
    from tr2m.models.backbones.simulated_relative_depth import SimulatedRelativeDepth
    from tr2m.models.encoders import DINOv2Encoder, SentenceTextEncoder

    def refuse(self, *a, **kw):
        raise AssertionError(f'{type(self).__name__} was built in cache mode')

    for cls in (DINOv2Encoder, SentenceTextEncoder, SimulatedRelativeDepth):
        monkeypatch.setattr(cls, '__init__', refuse)
    cfg = load(config)
    assert cfg.model.image_encoder.type == 'CachedImageEncoder'
    assert cfg.model.image_encoder.root == str(root)
    model = build_model(cfg)
    assert isinstance(model.relative_depth, CachedRelativeDepth)
    assert isinstance(model.image_encoder, CachedImageEncoder)
    assert isinstance(model.text_encoder, CachedTextEncoder)
    assert model.frozen_widths == dict(image=64, text=32, text_tokens=32)  # from cache.json
    assert not any(k.startswith(('image_encoder.', 'text_encoder.', 'relative_depth.'))
                   for k in model.state_dict())
    assert not any(list(m.parameters()) for m in (model.relative_depth, model.image_encoder,
                                                  model.text_encoder))  # readers hold nothing


def test_applying_twice_and_dumped_configs(cached, tmp_path):
    config, root, meta = cached
    cfg = load(config)
    before = cfg.pretty_text
    assert apply_feature_cache(cfg).pretty_text == before  # idempotent
    first = cfg.train_dataloader.dataset.datasets[0]
    assert [t['type'] for t in first.pipeline].count('LoadCachedFeatures') == 1
    # a config dumped by a cache-mode run (what the Runner writes to the work dir) loads again
    dumped = tmp_path / 'dumped.py'
    cfg.dump(str(dumped))
    again = load(dumped)
    assert reads_cache(again.model) and again.pretty_text.count('LoadCachedFeatures') == \
        before.count('LoadCachedFeatures')
    assert again.model.image_encoder.frozen_digest == meta['frozen_digest']
    # ... and refuses a cache of other frozen models
    other = tmp_path / 'other.py'
    other.write_text(f"_base_ = [{str(dumped)!r}]\n"
                     "model = dict(image_encoder=dict(frozen_digest='0123456789abcdef'))\n")
    with pytest.raises(ConfigError, match='other frozen models'):
        load(other)


def test_models_the_cache_cannot_serve():
    with pytest.raises(ConfigError, match=r"model type 'RSA' has no image_encoder"):
        cached_components(dict(type='RSA', relative_depth=dict(type='X'),
                               text_encoder=dict(type='Y')), '/c')
    assert set(cached_components(dict(type='TR2M', relative_depth=dict(type='X'),
                                      image_encoder=dict(type='Y'), text_encoder=None),
                                 '/c')) == {'relative_depth', 'image_encoder'}
    mixed = dict(relative_depth=dict(type='CachedRelativeDepth'), image_encoder=dict(type='Y'))
    with pytest.raises(ConfigError, match=r"\['relative_depth'\] read the feature cache"):
        reads_cache(mixed)
    assert not reads_cache(dict(relative_depth=dict(type='X'), image_encoder=dict(type='Y')))
