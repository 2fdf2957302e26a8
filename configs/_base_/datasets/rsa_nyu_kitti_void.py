# RSA's training data (Zeng et al., NeurIPS 2024, train_3d.py): NYUv2 + KITTI + VOID, and at
# every step one batch of `batch_size` from EACH dataset (PerDatasetBatchSampler; a step holds
# 3 x 8 samples), an epoch ending when the dataset with the fewest batches (KITTI) runs out.
# RSA's pipelines: full frames (NYUv2 / VOID 480 x 640, KITTI KB-cropped to 352 x 1216), no
# resize (the relative model resizes to its own input), no flip or other augmentation, a random
# one of the 15 captions per image at training, caption 0 at test. The samples of a step differ
# in size and RSA groups them by dataset (DepthDataPreprocessor(mixed_sizes='list')).
# Not reproduced: RSA zeroes NYUv2's training GT outside rows 45:472, cols 43:608, and feeds
# VOID images to the relative model in 0..255 without normalisation.
# Test: RSA evaluates NYUv2 without the Eigen crop (crop=None), KITTI with the Garg crop, VOID
# uncropped in 0.2..5 m.
# The datasets are those of nyu.py, kitti.py and void.py in this folder, and so are the pipelines
# less their Resize (and, for training, RandomFlip).


def _dataset_config(name):
    """``<name>.py`` of this folder as a config (several ``_base_`` files may not define the
    same keys, so the per-dataset configs are read here instead of inherited)."""
    from mmengine import Config
    return Config.fromfile('{{ fileDirname }}/' + name + '.py')


def _without(pipeline, *types):
    return [t for t in pipeline if t['type'] not in types]


_nyu, _kitti, _void = (_dataset_config(n) for n in ('nyu', 'kitti', 'void'))

nyu_root = _nyu.data_root
kitti_root = _kitti.data_root
void_root = _void.data_root
caption_root = _nyu.caption_root

nyu_train_pipeline = _without(_nyu.train_pipeline, 'Resize', 'RandomFlip')
kitti_train_pipeline = _without(_kitti.train_pipeline, 'Resize', 'RandomFlip')
void_train_pipeline = _without(_void.train_pipeline, 'Resize', 'RandomFlip')
nyu_test_pipeline = _without(_nyu.test_pipeline, 'Resize')
kitti_test_pipeline = _without(_kitti.test_pipeline, 'Resize')
void_test_pipeline = _without(_void.test_pipeline, 'Resize')

train_dataloader = dict(
    batch_size=8,  # per dataset and step
    num_workers='auto',  # from the machine's CPUs (tr2m.utils.workers)
    persistent_workers=True,
    pin_memory='auto',  # pinned where a CUDA device is present
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='PerDatasetBatchSampler', epoch_length='min'),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['dataset_name', 'protocol'],  # these differ between the datasets
        datasets=[
            dict(_nyu.train_dataloader.dataset, pipeline=nyu_train_pipeline),
            dict(_kitti.train_dataloader.dataset, pipeline=kitti_train_pipeline),
            dict(_void.train_dataloader.dataset, pipeline=void_train_pipeline),
        ]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['dataset_name', 'protocol'],
        datasets=[
            dict(_nyu.val_dataloader.dataset, protocol=dict(crop=None),
                 pipeline=nyu_test_pipeline),
            dict(_kitti.val_dataloader.dataset, pipeline=kitti_test_pipeline),
            dict(_void.val_dataloader.dataset, pipeline=void_test_pipeline),
        ]))
test_dataloader = val_dataloader

val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
del _nyu, _kitti, _void
