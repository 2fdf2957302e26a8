"""tr2m/cache/store.py: the on-disk format (quantisation bounds, resumable writing, lookups,
pickling) by hand-made parts and on the cache of the demo config."""
import filecmp
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from tr2m.cache.store import (
    CACHE_FORMAT,
    PartReader,
    PartWriter,
    dequantize_int8,
    quantize_int8,
    read_cache_meta,
    sample_key,
    write_cache_meta,
)
from tr2m.utils.errors import DataError

from ._helpers import build_cache, build_dataset, computed_features, load


def _part(folder, dtype='float16', tokens=False, chunk=2):
    meta = dict(keys=['a.png', 'b.png', 'c.png'], views=[False, True], dtype=dtype,
                widths=dict(image=3, text=2, text_tokens=2), text_tokens=tokens, chunk=chunk,
                text_chunk=2)
    return PartWriter(str(folder), meta, ['one', 'two', 'three'])


def test_hand_made_part_round_trip(tmp_path):
    writer = _part(tmp_path / 'p', tokens=True)
    assert (writer.num_image_chunks, writer.num_text_chunks) == (2, 2)
    pooled = np.array([[1, 2], [3, 4], [5, 6]], np.float32)
    tokens = [np.full((n, 2), n, np.float32) for n in (1, 2, 3)]
    writer.write_text_chunk(0, pooled[:2], tokens[:2])
    writer.write_text_chunk(1, pooled[2:], tokens[2:])
    items = [[(np.full((4, 5), i + v, np.float32), np.full((3, 2, 2), 10 * i + v, np.float32))
              for v in (0, 1)] for i in range(3)]
    writer.write_image_chunk(0, items[:2])
    writer.write_image_chunk(1, items[2:])
    assert writer.finish()['complete'] is True
    reader = PartReader(str(tmp_path / 'p'))
    rel, img = reader.image('c.png', flip=True)
    assert rel.dtype == np.float32 and (rel == 3).all() and img.shape == (3, 2, 2)
    assert (img == 21).all()
    got, tok = reader.text('two')
    assert got.tolist() == [3, 4] and tok.shape == (2, 2) and (tok == 2).all()
    assert reader.find_text('four') is None
    with pytest.raises(DataError, match="caption 'four' is not in the feature cache part"):
        reader.text('four')
    with pytest.raises(DataError, match="sample 'd.png' is not in the feature cache part"):
        reader.image('d.png')


def test_incomplete_part_and_writing_out_of_order(tmp_path):
    writer = _part(tmp_path / 'p')
    with pytest.raises(RuntimeError, match='text chunk 1 written out of order'):
        writer.write_text_chunk(1, np.zeros((1, 2), np.float32))
    with pytest.raises(DataError, match=r'is incomplete \(0 of 2 image chunks\)'):
        PartReader(str(tmp_path / 'p'))
    with pytest.raises(DataError, match=r"other \['chunk'\]"):  # resumed with another chunk
        _part(tmp_path / 'p', chunk=3)


def test_cache_meta_io(tmp_path):
    with pytest.raises(FileNotFoundError, match='no feature cache at .* tools/cache_features.py '
                                                'my.py'):
        read_cache_meta(str(tmp_path), 'my.py')
    write_cache_meta(str(tmp_path), dict(format=CACHE_FORMAT + 1))
    with pytest.raises(DataError, match=f'cache format {CACHE_FORMAT + 1}'):
        read_cache_meta(str(tmp_path))
    write_cache_meta(str(tmp_path), dict(format=CACHE_FORMAT, parts={}))
    assert read_cache_meta(str(tmp_path)) == dict(format=CACHE_FORMAT, parts={})
    assert json.loads((tmp_path / 'cache.json').read_text())['format'] == CACHE_FORMAT


def test_sample_keys_survive_moving_the_data_root():
    assert sample_key('/data/nyu/rgb/a.png', '/data/nyu') == 'rgb/a.png'
    assert sample_key('/data/nyu/rgb/a.png', '/data/nyu/') == 'rgb/a.png'
    assert sample_key('/elsewhere/a.png', '/data/nyu') == '/elsewhere/a.png'


def test_round_trip_float16_and_int8(cached, tmp_path):
    config, root, meta = cached
    from tr2m.cache.keys import plan_parts

    cfg = load(config, cache=False)
    assert len(meta['parts']) == 3  # indoor + outdoor (train), test set shared by val/test
    int8_root = tmp_path / 'int8'
    int8_meta = build_cache(config, batch_size=1, dtype='int8', root=str(int8_root),
                            loaders=['train_dataloader'])
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


def test_resume_after_interrupt_writes_the_same_files(cached, tmp_path, monkeypatch):
    config = cached[0]
    build_cache(config, batch_size=2, root=str(tmp_path / 'full'))
    calls = {'n': 0}
    append = PartWriter._append

    def crash(self, name, arr):
        calls['n'] += 1
        if calls['n'] == 13:  # 2nd part: after its captions and 2 arrays of its first chunk
            raise KeyboardInterrupt
        return append(self, name, arr)

    monkeypatch.setattr(PartWriter, '_append', crash)
    with pytest.raises(KeyboardInterrupt):
        build_cache(config, batch_size=2, root=str(tmp_path / 'resumed'))
    monkeypatch.setattr(PartWriter, '_append', append)
    with pytest.raises(DataError, match='incomplete'):
        load(config, options={'cache.root': str(tmp_path / 'resumed')})
    build_cache(config, batch_size=2, root=str(tmp_path / 'resumed'))
    full, resumed = tmp_path / 'full', tmp_path / 'resumed'
    names = sorted(str(p.relative_to(full)) for p in full.rglob('*') if p.is_file())
    assert names == sorted(str(p.relative_to(resumed)) for p in resumed.rglob('*') if p.is_file())
    for name in names:
        assert filecmp.cmp(full / name, resumed / name, shallow=False), name


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
