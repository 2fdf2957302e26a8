"""tr2m/cache/builder.py: captions embedded once, sizes on disk, the disk check."""
import numpy as np
import pytest

from tr2m.cache.builder import part_nbytes
from tr2m.cache.store import PartReader

from ._helpers import build_cache, build_dataset, build_model, load


def test_part_nbytes_by_hand():
    # 3 samples x 2 views: Dr 4x5 fp16 (40 B) + tokens 8x2x3 fp16 (96 B); 5 captions of width 6
    assert part_nbytes(3, 2, (4, 5), (8, 2, 3), 'float16', 5, 6) == 6 * (40 + 96) + 5 * 12
    # int8: 1 B per value + a float32 scale per token (2x3): 48 + 24
    assert part_nbytes(3, 2, (4, 5), (8, 2, 3), 'int8', 0, 6) == 6 * (40 + 72)
    # caption tokens: 77 x width 4 x 2 B per caption
    assert part_nbytes(0, 1, (1, 1), (1, 1, 1), 'float16', 2, 6, 4, 77) == 2 * (12 + 2 * 4 * 77)


def test_captions_embedded_once(cached, monkeypatch, tmp_path):
    config, root, meta = cached
    from tr2m.models.encoders import SentenceTextEncoder

    seen = []
    raw = SentenceTextEncoder._encode
    monkeypatch.setattr(SentenceTextEncoder, '_encode',
                        lambda self, caps: seen.append(list(caps)) or raw(self, caps))
    out = build_cache(config, root=str(tmp_path / 'r'), text_batch_size=3)
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


def test_dry_run_plans_without_writing_and_the_disk_check(cached, tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from tr2m.utils.errors import DataError

    config = cached[0]
    lines = []
    from tr2m.cache import build_feature_cache

    build_feature_cache(load(config, cache=False), root=str(tmp_path / 'dry'), dry_run=True,
                        log=lines.append)
    assert any('2 samples x 2 view(s)' in line and '(new)' in line for line in lines)
    assert 'still to write' in lines[-1]
    assert not (tmp_path / 'dry' / 'cache.json').exists()
    usage = namedtuple('usage', 'total used free')
    monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage(1, 1, 1000))
    with pytest.raises(DataError, match='not enough disk'):
        build_cache(config, root=str(tmp_path / 'small'))
    assert not (tmp_path / 'small' / 'cache.json').exists()
