"""``PerDatasetBatchSampler``: one sub-batch of every dataset per step (RSA's loop), epoch
length 'min' / 'max', every sample once per epoch, equal lengths on every rank."""
import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import ConcatDataset, TensorDataset

from tr2m.datasets import KITTIDataset, NYUv2Dataset
from tr2m.datasets.samplers import PerDatasetBatchSampler
from tr2m.registry import DATA_SAMPLERS


def _concat(*sizes):
    return ConcatDataset([TensorDataset(torch.zeros(n)) for n in sizes])


def _group(i, sizes):
    return int(np.searchsorted(np.cumsum(sizes), i, side='right'))


def _check_steps(steps, sizes, b):
    """Every step: the groups in order, ``b`` samples of each (the last step may be short)."""
    for step in steps:
        groups = [_group(i, sizes) for i in step]
        assert groups == sorted(groups) and set(groups) == set(range(len(sizes)))
        assert all(groups.count(g) <= b for g in range(len(sizes)))


def test_equal_datasets_every_sample_once_per_epoch():
    sizes = (12, 12, 12)
    sampler = DefaultSampler(_concat(*sizes), shuffle=True, seed=5)
    bs = PerDatasetBatchSampler(sampler, batch_size=4)
    steps = list(bs)
    assert len(steps) == len(bs) == 3
    assert all(len(s) == 12 for s in steps)
    _check_steps(steps, sizes, 4)
    assert sorted(i for s in steps for i in s) == list(range(36))
    assert list(bs) == steps  # same epoch, same plan
    sampler.set_epoch(1)
    later = list(bs)
    assert later != steps and sorted(i for s in later for i in s) == list(range(36))


def test_min_length_as_released():
    """RSA's loop stops when its smallest loader runs out: KITTI's 2,895 batches of NYUv2's
    3,029 (batch 8, last batches kept), here 10 / 7 / 13 samples at batch 3 -> 3 steps."""
    sizes = (10, 7, 13)
    bs = PerDatasetBatchSampler(DefaultSampler(_concat(*sizes), shuffle=True, seed=0), 3)
    steps = list(bs)
    assert len(steps) == len(bs) == 3  # ceil(7 / 3)
    _check_steps(steps, sizes, 3)
    flat = [i for s in steps for i in s]
    assert len(flat) == len(set(flat))  # no sample twice
    counts = [sum(_group(i, sizes) == g for i in flat) for g in range(3)]
    assert counts == [9, 7, 9]  # the smallest dataset is used up, its last sub-batch short
    # drop_last: only full sub-batches, 2 steps
    full = list(PerDatasetBatchSampler(DefaultSampler(_concat(*sizes), shuffle=False), 3,
                                       drop_last=True))
    assert len(full) == 2 and all(len(s) == 9 for s in full)
    assert PerDatasetBatchSampler(DefaultSampler(_concat(1024, 993), shuffle=False),
                                  8).__len__() == 125
    released = PerDatasetBatchSampler(DefaultSampler(_concat(24231, 23158, 48248),
                                                     shuffle=False), 8)
    assert len(released) == 2895


def test_max_length_cycles_smaller_datasets():
    sizes = (10, 4, 7)
    bs = PerDatasetBatchSampler(DefaultSampler(_concat(*sizes), shuffle=True, seed=2), 3,
                                epoch_length='max')
    steps = list(bs)
    assert len(steps) == len(bs) == 4  # ceil(10 / 3)
    flat = [i for s in steps for i in s]
    assert sorted(set(flat)) == list(range(21))  # every sample at least once
    assert sorted(i for i in flat if i < 10) == list(range(10))  # the largest exactly once
    counts = [sum(_group(i, sizes) == g for i in flat) for g in range(3)]
    assert counts == [10, 12, 12]  # cycled groups fill every sub-batch


def test_two_ranks_equal_lengths_and_one_sub_batch_per_dataset():
    sizes = (14, 9, 11)
    sampler = DefaultSampler(_concat(*sizes), shuffle=True, seed=0)
    single = list(PerDatasetBatchSampler(sampler, batch_size=2))  # 5 steps (ceil(9 / 2))
    shares = []
    for rank in range(2):
        sampler.rank, sampler.world_size = rank, 2
        bs = PerDatasetBatchSampler(sampler, batch_size=2)
        shares.append(list(bs))
        assert len(shares[-1]) == len(bs) == 3  # ceil(5 / 2): padded by repeating step 0
        _check_steps(shares[-1], sizes, 2)
    assert shares[0] == single[0::2] and shares[1] == single[1::2] + single[:1]


def test_bad_arguments():
    sampler = DefaultSampler(_concat(3, 5), shuffle=False)
    with pytest.raises(ValueError, match='epoch_length'):
        PerDatasetBatchSampler(sampler, 2, epoch_length='mean')
    with pytest.raises(ValueError, match='at least batch_size'):
        PerDatasetBatchSampler(sampler, 4, drop_last=True)
    with pytest.raises(TypeError, match='dataset attribute'):
        PerDatasetBatchSampler(range(3), 2)
    assert DATA_SAMPLERS.get('PerDatasetBatchSampler') is PerDatasetBatchSampler


def test_dataloader_steps_hold_every_dataset(trees):
    """Through the runner: each step has the NYUv2 and the KITTI sub-batch, at their sizes."""
    def pipe(*crop):
        return [dict(type='LoadRGBImage'), dict(type='LoadDepth'), *crop,
                dict(type='LoadCaption', mode='random', fallback='An image.'),
                dict(type='PackDepthInputs')]

    from mmengine.dataset import ConcatDataset as MMConcat
    mixed = MMConcat([NYUv2Dataset(data_root=str(trees.nyu), split='train', pipeline=pipe(),
                                   caption_fallback='x'),
                      KITTIDataset(data_root=str(trees.kitti), split='train',
                                   pipeline=pipe(dict(type='KBCrop')), caption_fallback='x')],
                     ignore_keys=['dataset_name', 'protocol'])
    init_default_scope('tr2m')
    loader = Runner.build_dataloader(dict(
        dataset=mixed, batch_size=1, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=dict(type='PerDatasetBatchSampler'),
        collate_fn=dict(type='pseudo_collate')), seed=0)
    steps = list(loader)
    assert len(steps) == len(loader) == 2  # 2 NYUv2 frames, 3 KITTI frames: 'min'
    for batch in steps:
        names = [s.metainfo['dataset_name'] for s in batch['data_samples']]
        assert names == ['nyu', 'kitti']
        assert [tuple(x.shape[-2:]) for x in batch['inputs']] == [(480, 640), (352, 1216)]
