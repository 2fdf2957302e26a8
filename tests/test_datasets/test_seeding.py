"""Per-sample draws from (seed, epoch, index): the same in any worker and after a resume, new
each epoch; the state reaches persistent dataloader workers."""
import numpy as np
from torch.utils.data import DataLoader

from tr2m.datasets import DepthManifestDataset
from tr2m.datasets.transforms import LoadCaption
from tr2m.engine.hooks.sample_seed_hook import seed_datasets
from tr2m.registry import TRANSFORMS
from tr2m.structures import RunNotes

PIPELINE = [dict(type='LoadRGBImage'), dict(type='LoadDepth'),
            dict(type='RandomCrop', crop_size=(40, 40)), dict(type='RandomFlip', prob=0.5),
            dict(type='LoadCaption', mode='random'), dict(type='PackDepthInputs')]


def _dataset(root):
    from tr2m.datasets.synthetic import generate_synthetic_rgbd

    generate_synthetic_rgbd(str(root), dict(train=4, test=1))
    return DepthManifestDataset(ann_file='train.json', data_root=str(root),
                                pipeline=[TRANSFORMS.build(t) for t in PIPELINE])


def _draw(sample):
    meta = sample['data_samples'].metainfo
    return (sample['data_samples'].gt_depth.data.sum().item(), meta['flip'],
            meta['caption_index'])


def test_draws_come_from_seed_epoch_and_index(tmp_path):
    ds = _dataset(tmp_path)
    assert ds.draw_seed(3) is None  # no runner yet: the global numpy generator, as before
    ds.set_draw_seed(7, epoch=2)
    first = [_draw(ds[i]) for i in range(len(ds))]
    np.random.seed(123)  # the global generator plays no part any more
    assert [_draw(ds[i]) for i in reversed(range(len(ds)))] == first[::-1]
    assert ds[5]['data_samples'].metainfo.get('sample_idx') == 5
    ds.set_draw_seed(7, epoch=3)
    assert [_draw(ds[i]) for i in range(len(ds))] != first  # a new epoch, new draws
    ds.set_draw_seed(8, epoch=2)
    assert [_draw(ds[i]) for i in range(len(ds))] != first  # another seed too
    ds.set_draw_seed(7, epoch=2)
    assert [_draw(ds[i]) for i in range(len(ds))] == first
    assert ds.draw_seed(3) == [7, 2, 3]


def test_persistent_workers_see_the_new_epoch(tmp_path):
    ds = _dataset(tmp_path)
    ds.set_draw_seed(0, epoch=0)
    in_process = {}
    for epoch in (0, 1):
        ds.set_draw_seed(0, epoch)
        in_process[epoch] = [_draw(ds[i]) for i in range(len(ds))]
    loader = DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True,
                        collate_fn=lambda batch: batch)
    for epoch in (0, 1):  # the hook's update (shared memory) reaches the running workers
        assert seed_datasets(loader.dataset, 0, epoch) == 1
        got = [_draw(s) for batch in loader for s in batch]
        assert got == in_process[epoch]


def test_concat_datasets_get_their_index_offsets(tmp_path):
    from mmengine.dataset import ConcatDataset

    a, b = _dataset(tmp_path / 'a'), _dataset(tmp_path / 'b')
    cat = ConcatDataset([a, b])
    assert seed_datasets(cat, 5, 1) == 2
    assert a.draw_seed(0) == [5, 1, 0] and b.draw_seed(0) == [5, 1, len(a)]


def test_load_caption_records_the_index_it_used():
    caps = ['', '  ', 'a kitchen', 'a hall']
    out = LoadCaption(mode='index', index=0)(dict(captions=caps, protocol=dict(split='test')))
    assert out['caption'] == 'a kitchen' and out['caption_index'] == 2
    assert out['run_notes'] == RunNotes(caption_index=2)  # what the metrics record
    assert out['protocol'] == dict(split='test')  # the protocol is left alone
    out = LoadCaption(mode='index', index=3)(dict(captions=caps))
    assert out['caption'] == 'a hall' and out['caption_index'] == 3
    rng = np.random.default_rng(0)
    picks = {LoadCaption(mode='random')(dict(captions=caps, rng=rng))['caption_index']
             for _ in range(40)}
    assert picks == {2, 3}  # never an empty one, indices into the full list
    fallback = LoadCaption(mode='index', fallback='a scene')(dict(captions=['', ' '],
                                                                  protocol={}))
    assert fallback['caption_index'] == -1 and fallback['run_notes'].caption_index == -1
