"""``tools/cache_features.py`` and training from the cache, on the procedural demo set.

The config is ``configs/cache/tr2m_synthetic.py`` at toy widths, with a mixed training set
(two datasets, indoor and outdoor frames, each its own part of the cache). Features are
recomputed here with the uncached model, built from the same seed, and compared with what the
cache gives back.
"""
import filecmp
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from tr2m.datasets.feature_store import PartReader, PartWriter, dequantize_int8, quantize_int8
from tr2m.utils.errors import ConfigError, DataError

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


def load(path, cache=True, **kw):
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    register_all_modules()
    return load_config(str(path), kw.get('options'), feature_cache=cache)


def build_model(cfg):
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


def run_tool(load_tool, config, *args):
    return load_tool('tools/cache_features.py').main([str(config), '--no-progress', *args])


@pytest.fixture(scope='module')
def cached(tmp_path_factory, synthetic_root, load_tool):
    """A float16 cache (batch 1) of the toy cached config, and that config."""
    tmp = tmp_path_factory.mktemp('cache')
    config = write_config(tmp / 'cfg.py', synthetic_root, tmp / 'root')
    meta = run_tool(load_tool, config, '--batch-size', '1')
    return config, tmp / 'root', meta


def computed_features(cfg, leaf, flip):
    """``{key: (rel, img)}`` of one dataset computed by the uncached model, one sample at a
    time (the cache was built with --batch-size 1, so the computations are the same)."""
    from tr2m.datasets.feature_store import sample_key
    from tr2m.engine.feature_cache_builder import _build_dataset, _Model, view_pipeline

    model = _Model(build_model(cfg).eval(), 'cpu')
    dataset = _build_dataset(leaf)
    pipe = view_pipeline(leaf['pipeline'], flip)
    out = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        out[sample_key(info['img_path'], leaf['data_root'])] = model.images([pipe(info)])[0]
    return out


def test_round_trip_float16_and_int8(cached, load_tool, tmp_path):
    config, root, meta = cached
    from tr2m.engine.feature_cache import plan_parts

    cfg = load(config, cache=False)
    assert len(meta['parts']) == 3  # indoor + outdoor (train), test set shared by val/test
    int8_root = tmp_path / 'int8'
    int8_meta = run_tool(load_tool, config, '--batch-size', '1', '--dtype', 'int8',
                         '--out', str(int8_root), '--loaders', 'train')
    assert len(int8_meta['parts']) == 2
    for _, leaf, spec in plan_parts(cfg, ('train_dataloader',)):
        ref = computed_features(cfg, leaf, flip=True)
        f16, i8 = PartReader(str(root / spec['id'])), PartReader(str(int8_root / spec['id']))
        assert f16.views == [False, True] and len(f16.rows) == len(ref) == 2
        for key, (rel, img) in ref.items():
            got_rel, got_img = f16.image(key, flip=True)
            # float16: exactly fp16(x), and |x - fp16(x)| <= 2^-11 |x| (+ 2^-25 subnormals)
            assert np.array_equal(got_rel, rel.astype(np.float16).astype(np.float32))
            assert got_img.dtype == np.float16 and np.array_equal(got_img, img.astype(np.float16))
            err = np.abs(got_img.astype(np.float32) - img)
            assert (err <= np.abs(img) * 2 ** -11 + 2 ** -25).all()
            # int8: q * s with s = max|x| / 127 per token, |x - q s| <= s / 2
            rel8, img8 = i8.image(key, flip=True)
            assert np.array_equal(rel8, got_rel) and img8.dtype == np.float32
            q, s = quantize_int8(img)
            assert np.array_equal(img8, dequantize_int8(q, s))
            bound = np.abs(img).max(0) / 127 / 2
            assert (np.abs(img8 - img) <= bound[None] * (1 + 1e-5) + 1e-12).all()
            assert (np.abs(img8 - img) > np.abs(img) * 2 ** -11).any()  # int8 is coarser


def test_captions_embedded_once(cached, monkeypatch, load_tool, tmp_path):
    config, root, meta = cached
    from tr2m.models.encoders import SentenceTextEncoder

    seen = []
    raw = SentenceTextEncoder._encode
    monkeypatch.setattr(SentenceTextEncoder, '_encode',
                        lambda self, caps: seen.append(list(caps)) or raw(self, caps))
    out = run_tool(load_tool, config, '--out', str(tmp_path / 'r'), '--text-batch-size', '3')
    flat = [c for call in seen for c in call]
    assert all(len(call) <= 3 for call in seen)
    counts = [PartReader(str(tmp_path / 'r' / pid)).meta['num_captions'] for pid in out['parts']]
    assert len(flat) == sum(counts)  # each distinct caption of each part embedded once
    for pid in out['parts']:
        hashes = np.load(tmp_path / 'r' / pid / 'text_hash.npy')
        assert len(set(hashes.tolist())) == len(hashes)
    # every caption of every sample is in its part's table, equal to a fresh encoding (fp16)
    cfg = load(config, cache=False)
    model = build_model(cfg)
    reader = PartReader(str(root / next(p for p in meta['parts'] if 'indoor' in str(
        meta['parts'][p]['identity']))))
    dataset = build_dataset(cfg).datasets[0]
    for i in range(len(dataset)):
        for caption in dataset.get_data_info(i)['captions']:
            pooled, tokens = reader.text(caption)
            ref = model.text_encoder._encode([caption]).pooled[0].numpy()
            assert tokens is None and pooled.dtype == np.float16
            np.testing.assert_allclose(pooled.astype(np.float32), ref, rtol=2 ** -10, atol=1e-6)


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
        assert item['data_samples'].flip is (prob == 1.0)
        assert torch.equal(item['data_samples'].img_feats, torch.from_numpy(ref))


def test_resume_after_interrupt_writes_the_same_files(cached, load_tool, tmp_path, monkeypatch):
    config = cached[0]
    run_tool(load_tool, config, '--batch-size', '2', '--out', str(tmp_path / 'full'))
    calls = {'n': 0}
    append = PartWriter._append

    def crash(self, name, arr):
        calls['n'] += 1
        if calls['n'] == 13:  # 2nd part: after its captions and 2 arrays of its first chunk
            raise KeyboardInterrupt
        return append(self, name, arr)

    monkeypatch.setattr(PartWriter, '_append', crash)
    with pytest.raises(KeyboardInterrupt):
        run_tool(load_tool, config, '--batch-size', '2', '--out', str(tmp_path / 'resumed'))
    monkeypatch.setattr(PartWriter, '_append', append)
    with pytest.raises(DataError, match='incomplete'):
        load(config, options={'cache.root': str(tmp_path / 'resumed')})
    run_tool(load_tool, config, '--batch-size', '2', '--out', str(tmp_path / 'resumed'))
    full, resumed = tmp_path / 'full', tmp_path / 'resumed'
    names = sorted(str(p.relative_to(full)) for p in full.rglob('*') if p.is_file())
    assert names == sorted(str(p.relative_to(resumed)) for p in resumed.rglob('*') if p.is_file())
    for name in names:
        assert filecmp.cmp(full / name, resumed / name, shallow=False), name


def test_refusals_name_what_differs(cached, tmp_path, load_tool, synthetic_root, capsys):
    config, root, _ = cached
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
    # an augmentation the cache cannot reproduce is refused before anything is computed
    crop = tmp_path / 'crop.py'  # the quickstart itself trains with RandomCrop
    crop.write_text(f"_base_ = [{str(REPO / 'configs/quickstart/tr2m_synthetic.py')!r}]\n"
                    f"train_dataloader = dict(dataset=dict(data_root={str(synthetic_root)!r}))\n")
    with pytest.raises(SystemExit) as err:
        run_tool(load_tool, crop, '--out', str(tmp_path / 'c'))
    assert err.value.code == 2
    assert 'RandomCrop cannot be cached' in capsys.readouterr().err
    from tr2m.engine.feature_cache import pipeline_views

    with pytest.raises(ConfigError, match='RandomCrop cannot be cached: .*ViT token'):
        pipeline_views([dict(type='RandomCrop', crop_size=(8, 8))], 'demo')
    with pytest.raises(ConfigError, match="ColorJitter is not known to be deterministic.*"
                                          "deterministic_transforms=\\['ColorJitter'\\]"):
        pipeline_views([dict(type='ColorJitter')], 'demo')
    assert pipeline_views([dict(type='Resize', scale=(8, 8)), dict(type='RandomFlip', prob=1)],
                          'demo')[1] == [True]


def test_disk_estimate_and_refusal(cached, load_tool, tmp_path, monkeypatch, capsys):
    import shutil
    from collections import namedtuple

    config = cached[0]
    run_tool(load_tool, config, '--dry-run', '--out', str(tmp_path / 'dry'))
    printed = capsys.readouterr().out
    assert 'still to write' in printed and '2 samples x 2 view(s)' in printed
    assert not (tmp_path / 'dry' / 'cache.json').exists()
    usage = namedtuple('usage', 'total used free')
    monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage(1, 1, 1000))
    with pytest.raises(SystemExit):
        run_tool(load_tool, config, '--out', str(tmp_path / 'small'))
    assert 'not enough disk' in capsys.readouterr().err


def test_frozen_models_not_built_in_cache_mode(cached, monkeypatch):
    config = cached[0]
    from tr2m.models.backbones.simulated_relative_depth import SimulatedRelativeDepth
    from tr2m.models.encoders import DINOv2Encoder, SentenceTextEncoder

    def refuse(self, *a, **kw):
        raise AssertionError(f'{type(self).__name__} was built in cache mode')

    for cls in (DINOv2Encoder, SentenceTextEncoder, SimulatedRelativeDepth):
        monkeypatch.setattr(cls, '__init__', refuse)
    model = build_model(load(config))
    assert model.image_encoder is None and model.text_encoder is None
    assert model.frozen_widths == dict(image=64, text=32, text_tokens=32)  # from cache.json
    assert not any(k.startswith(('image_encoder.', 'text_encoder.', 'relative_depth.'))
                   for k in model.state_dict())


def perturb(model):
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=gen) * 0.1)


def test_first_step_losses_equal_with_and_without_cache(cached):
    config = cached[0]
    losses, grads = {}, {}
    for mode in (False, True):
        cfg = load(config, cache=mode)
        model = build_model(cfg)
        perturb(model)  # so that the features, not the zero-init heads, decide the losses
        dataset = build_dataset(cfg)
        np.random.seed(3)
        items = [dataset[i] for i in range(len(dataset))]  # same flips and captions
        data = dict(inputs=[d['inputs'] for d in items],
                    data_samples=[d['data_samples'] for d in items])
        model.train()
        out = model(**model.data_preprocessor(data, True), mode='loss')
        sum(v for k, v in out.items() if 'loss' in k).backward()
        losses[mode] = {k: float(v.detach()) for k, v in out.items()}
        grads[mode] = {k: p.grad.clone() for k, p in model.named_parameters() if p.requires_grad}
    assert set(losses[False]) == set(losses[True])
    for key in ('loss_silog', 'loss_pseudo', 'loss_soc', 'loss_smooth'):
        assert losses[True][key] == pytest.approx(losses[False][key], rel=1e-3), key
    assert losses[False]['loss_soc'] > 0 and losses[False]['loss_smooth'] > 0
    assert grads[True].keys() == grads[False].keys()  # the same trainable parameters
    diff = torch.sqrt(sum(((grads[True][k] - g) ** 2).sum() for k, g in grads[False].items()))
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads[False].values()))
    assert diff <= 1e-3 * norm


def test_train_resume_and_test_from_cache(cached, load_tool, tmp_path, capsys):
    config = cached[0]
    train, test = load_tool('tools/train.py'), load_tool('tools/test.py')
    work = tmp_path / 'work'
    train.main([str(config), '--work-dir', str(work)])
    state = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)
    assert not any(k.startswith(('image_encoder.', 'text_encoder.', 'relative_depth.'))
                   for k in state['state_dict'])  # nothing frozen is saved
    assert any(k.startswith('soc.momentum_branch.0.') for k in state['state_dict'])
    train.main([str(config), '--work-dir', str(work), '--resume', '--cfg-options',
                'train_cfg.max_epochs=2'])
    log = '\n'.join(p.read_text() for p in work.glob('*/*.log'))
    assert 'resumed epoch: 1' in log and 'loss_soc' in log
    test.main([str(config), str(work / 'epoch_2.pth'), '--work-dir', str(tmp_path / 't')])
    assert 'abs_rel' in capsys.readouterr().out


def test_reader_pickles_without_its_maps(cached):
    config = cached[0]
    dataset = build_dataset(load(config)).datasets[1]
    transform = dataset.pipeline.transforms[-1]
    before = dataset[0]['data_samples'].img_feats
    assert transform.reader._maps is not None  # opened on first read
    clone = pickle.loads(pickle.dumps(transform))  # what a dataloader worker receives
    assert clone.reader._maps is None
    assert len(pickle.dumps(transform)) < 64 * 1024 + os.path.getsize(
        Path(transform.folder) / 'part.json')
    key = next(iter(clone.reader.rows))
    assert np.array_equal(clone.reader.image(key, False)[1], transform.reader.image(key, False)[1])
    assert before.shape == (64, 6, 8)
