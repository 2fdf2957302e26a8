import pytest
import torch
from mmengine.dataset import ConcatDataset, DefaultSampler, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from tr2m.datasets import (
    C3VDDataset,
    GroupByDatasetBatchSampler,
    KITTIDataset,
    NYUv2Dataset,
    VOIDDataset,
)
from tr2m.registry import DATA_SAMPLERS


def _pipe(*resize):
    return [dict(type='LoadRGBImage'), dict(type='LoadDepth'), *resize,
            dict(type='RandomFlip', prob=0.5),
            dict(type='LoadCaption', mode='random', fallback='An image.'),
            dict(type='PackDepthInputs')]


@pytest.fixture(scope='module')
def mixed(trees):
    def rsa(name):
        return dict(type='RSACaptionSource', root=str(trees.text_root), dataset=name,
                    split='train')

    datasets = [
        NYUv2Dataset(data_root=str(trees.nyu), split='train', caption_source=rsa('nyu'),
                     pipeline=_pipe(dict(type='Resize', scale=(480, 640), size_divisor=14))),
        KITTIDataset(data_root=str(trees.kitti), split='train', caption_source=rsa('kitti'),
                     pipeline=_pipe(dict(type='KBCrop'),
                                    dict(type='Resize', scale=(352, 1216), size_divisor=14))),
        VOIDDataset(data_root=str(trees.void), split='train', caption_source=rsa('void'),
                    pipeline=_pipe(dict(type='Resize', scale=(480, 640), size_divisor=14))),
        C3VDDataset(data_root=str(trees.c3vd), split='train',
                    caption_source=dict(type='TemplateCaptionSource', preset='c3vd'),
                    pipeline=_pipe(dict(type='Resize', scale=(518, 644), size_divisor=14))),
    ]
    return ConcatDataset(datasets, ignore_keys=['dataset_name', 'protocol'])


def _group_of(dataset, idx):
    return dataset.get_data_info(idx)['dataset_name']


def test_concat_needs_ignore_keys(trees):
    a = NYUv2Dataset(data_root=str(trees.nyu), split='train', caption_fallback='x')
    b = VOIDDataset(data_root=str(trees.void), split='train', caption_fallback='x')
    with pytest.raises(ValueError, match='meta information'):
        ConcatDataset([a, b])
    assert len(ConcatDataset([a, b], ignore_keys=['dataset_name', 'protocol'])) == 5


def test_batches_are_single_dataset_and_cover_everything(mixed):
    assert len(mixed) == 2 + 3 + 3 + 1
    sampler = DefaultSampler(mixed, shuffle=True, seed=3)
    batch_sampler = GroupByDatasetBatchSampler(sampler, batch_size=2)
    batches = list(batch_sampler)
    assert len(batches) == len(batch_sampler) == 1 + 2 + 2 + 1
    assert sorted(i for b in batches for i in b) == list(range(len(mixed)))
    for batch in batches:
        assert len({_group_of(mixed, i) for i in batch}) == 1
    # same epoch -> same plan; next epoch -> reshuffled, still a partition
    assert list(batch_sampler) == batches
    sampler.set_epoch(1)
    later = list(batch_sampler)
    assert sorted(i for b in later for i in b) == list(range(len(mixed)))
    assert later != batches
    # drop_last keeps only full batches
    full = list(GroupByDatasetBatchSampler(sampler, batch_size=2, drop_last=True))
    assert all(len(b) == 2 for b in full) and len(full) == 1 + 1 + 1 + 0


def test_ranks_get_equal_disjoint_shares(mixed):
    sampler = DefaultSampler(mixed, shuffle=True, seed=0)
    shares = []
    for rank in range(2):
        sampler.rank, sampler.world_size = rank, 2
        bs = GroupByDatasetBatchSampler(sampler, batch_size=2)
        shares.append(list(bs))
        assert len(shares[-1]) == len(bs) == 3
    flat = [i for share in shares for b in share for i in b]
    assert sorted(flat) == list(range(len(mixed)))  # 6 batches: no padding needed


def test_dataloader_stacks_each_batch(mixed):
    init_default_scope('tr2m')
    loader = Runner.build_dataloader(dict(
        dataset=mixed, batch_size=2, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=dict(type='GroupByDatasetBatchSampler'),
        collate_fn=dict(type='pseudo_collate')), seed=0)
    assert isinstance(loader.batch_sampler, GroupByDatasetBatchSampler)
    seen = {}
    for batch in loader:
        names = {s.metainfo['dataset_name'] for s in batch['data_samples']}
        assert len(names) == 1
        images = torch.stack(batch['inputs'])  # same size within a batch
        assert images.shape[-2] % 14 == 0 and images.shape[-1] % 14 == 0
        seen[names.pop()] = tuple(images.shape[-2:])
    assert seen == {'nyu': (476, 644), 'kitti': (350, 1218), 'void': (476, 644),
                    'c3vd': (518, 644)}
    assert DATA_SAMPLERS.get('GroupByDatasetBatchSampler') is GroupByDatasetBatchSampler
    assert pseudo_collate  # the runner's default collate keeps lists


def test_plain_dataset_groups_by_name(trees):
    ds = NYUv2Dataset(data_root=str(trees.nyu), caption_fallback='x')
    bs = GroupByDatasetBatchSampler(DefaultSampler(ds, shuffle=False), batch_size=2)
    assert list(bs) == [[0, 1], [2]]
    with pytest.raises(TypeError, match='dataset attribute'):
        GroupByDatasetBatchSampler(range(3), batch_size=2)
