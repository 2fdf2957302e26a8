"""tr2m/cache/keys.py: canonical forms, differences, the pipelines a cache can serve, parts."""
import pytest

from tr2m.cache.keys import (
    cache_spec,
    canonical,
    dataset_leaves,
    describe_diff,
    digest,
    part_spec,
    pipeline_views,
)
from tr2m.utils.errors import ConfigError


def test_canonical_and_digest_ignore_key_order():
    a = dict(b=(1, 2), a=dict(y=None, x=1.5))
    b = dict(a=dict(x=1.5, y=None), b=[1, 2])
    assert canonical(a) == {'a': {'x': 1.5, 'y': None}, 'b': [1, 2]}
    assert digest(a) == digest(b) and len(digest(a)) == 16
    assert digest(a) != digest(dict(b, b=[2, 1]))


def test_describe_diff_names_each_path():
    cached = dict(model=dict(arch='s', size=[1, dict(k=2)]), seed=0)
    current = dict(model=dict(arch='b', size=[1, dict(k=3)], extra=1), seed=0)
    assert describe_diff(cached, current) == [
        'model.arch: cache \'s\', config \'b\'',
        'model.extra: not in the cache, config 1',
        'model.size[1].k: cache 2, config 3']
    assert describe_diff(cached, cached) == []


def test_pipeline_views_and_refusals():
    assert pipeline_views([dict(type='Resize', scale=(8, 8)), dict(type='RandomFlip', prob=1)],
                          'demo')[1] == [True]
    steps, views = pipeline_views([dict(type='LoadRGBImage'), dict(type='RandomFlip'),
                                   dict(type='LoadCaption'), dict(type='PackDepthInputs')], 'x')
    assert views == [False, True] and steps == [dict(type='LoadRGBImage'),
                                                dict(type='RandomFlip')]
    with pytest.raises(ConfigError, match='RandomCrop cannot be cached: .*ViT token'):
        pipeline_views([dict(type='RandomCrop', crop_size=(8, 8))], 'demo')
    with pytest.raises(ConfigError, match="ColorJitter is not known to be deterministic.*"
                                          "deterministic_transforms=\\['ColorJitter'\\]"):
        pipeline_views([dict(type='ColorJitter')], 'demo')
    assert pipeline_views([dict(type='ColorJitter')], 'demo', ['ColorJitter'])[1] == [False]
    with pytest.raises(ConfigError, match='2 RandomFlip transforms'):
        pipeline_views([dict(type='RandomFlip'), dict(type='RandomFlip')], 'demo')


def test_parts_follow_wrappers_and_ignore_runtime_keys():
    leaf = dict(type='NYUv2Dataset', data_root='/d', split='test', pipeline=[
        dict(type='LoadRGBImage')])
    wrapped = dict(type='ConcatDataset', datasets=[dict(type='RepeatDataset', dataset=leaf),
                                                   dict(leaf, split='train')])
    assert [d['split'] for d in dataset_leaves(wrapped)] == ['test', 'train']
    same = part_spec(dict(leaf, test_mode=True, indices=3))  # runtime-only keys
    assert same['id'] == part_spec(leaf)['id'] and same['id'].startswith('NYUv2Dataset-')
    assert part_spec(dict(leaf, split='train'))['id'] != same['id']


def test_cache_spec_forms():
    from mmengine.config import Config

    assert cache_spec(Config(dict())) is None
    assert cache_spec(Config(dict(cache='/c'))) == dict(root='/c', dtype='float16',
                                                       deterministic_transforms=[])
    with pytest.raises(ConfigError, match='cache must be a root folder'):
        cache_spec(Config(dict(cache=dict(root='/c', dtpye='int8'))))
