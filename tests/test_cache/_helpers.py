"""Helpers of the cache tests: the cached demo config at toy widths, loading, building."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHED = REPO / 'configs' / 'cache' / 'tr2m_synthetic.py'
TOY = """
    text_encoder=dict(arch='bert_tiny', pretrained=None),
    scale_head=dict(channels=8), shift_head=dict(channels=8),
    neck=dict(num_heads=2, head_dim=8),
    soc=dict(projector=dict(hidden_channels=8, out_channels=8)),
"""


def write_config(path: Path, data_root: Path, cache_root: Path, extra: str = '') -> Path:
    """The cached demo config at toy width; training mixes two datasets (ConcatDataset)."""
    path.write_text(f"""_base_ = [{str(CACHED)!r}]
model = dict({TOY})
cache = dict(root={str(cache_root)!r})
_train = dict(type='DepthManifestDataset', data_root={str(data_root)!r}, ann_file='train.json',
              pipeline={{{{_base_.train_pipeline}}}})
train_dataloader = dict(batch_size=4, dataset=dict(_delete_=True, type='ConcatDataset', datasets=[
    dict(_train, datasets=['synthetic_indoor']), dict(_train, datasets=['synthetic_outdoor'])]))
val_dataloader = dict(dataset=dict(data_root={str(data_root)!r}))
test_dataloader = dict(dataset=dict(data_root={str(data_root)!r}))
train_cfg = dict(max_epochs=1, val_interval=100)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(save_best=None))
{extra}""")
    return path


def load(path, cache=True, options=None):
    """The config as the tools load it: strict overrides, then cache mode (``cache=True``)."""
    from tr2m.cache import apply_feature_cache
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    register_all_modules()
    cfg = load_config(str(path), options)
    return apply_feature_cache(cfg) if cache else cfg


def build_model(cfg):
    """The config's model, seeded as the Runner seeds it."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import set_random_seed

    from tr2m.registry import MODELS

    set_random_seed(cfg.randomness.seed)
    with DefaultScope.overwrite_default_scope('tr2m'):
        return MODELS.build(cfg.model.to_dict())


def build_dataset(cfg, loader='train_dataloader'):
    from mmengine.registry import DefaultScope

    from tr2m.registry import DATASETS

    with DefaultScope.overwrite_default_scope('tr2m'):
        return DATASETS.build(cfg[loader].dataset.to_dict())


def build_cache(config: Path, **kw) -> dict:
    """``tools/cache_features.py CONFIG --no-progress ...`` as a library call."""
    from tr2m.cache import build_feature_cache

    return build_feature_cache(load(config, cache=False), progress=False, log=lambda line: None,
                               **kw)


def computed_features(cfg, leaf, flip):
    """``{key: (rel, img)}`` of one dataset computed by the uncached model, one sample at a
    time (the cache was built with batch size 1, so the computations are the same)."""
    from tr2m.cache.builder import FrozenModels, view_pipeline
    from tr2m.cache.builder import build_dataset as build_part_dataset
    from tr2m.cache.store import sample_key

    model = FrozenModels(build_model(cfg).eval(), 'cpu')
    dataset = build_part_dataset(leaf)
    pipe = view_pipeline(leaf['pipeline'], flip)
    out = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        out[sample_key(info['img_path'], leaf['data_root'])] = model.images([pipe(info)])[0]
    return out
