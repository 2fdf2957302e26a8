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
nyu_root = 'data/nyu'
kitti_root = 'data/kitti'
void_root = 'data/void'
caption_root = 'data/rsa_text/text/text_all'

_load = [dict(type='LoadRGBImage'), dict(type='LoadDepth')]
_train_tail = [dict(type='LoadCaption', mode='random'), dict(type='PackDepthInputs')]
_test_tail = [dict(type='LoadCaption', mode='index', index=0), dict(type='PackDepthInputs')]
nyu_train_pipeline = _load + _train_tail
kitti_train_pipeline = _load + [dict(type='KBCrop')] + _train_tail
void_train_pipeline = nyu_train_pipeline
nyu_test_pipeline = _load + _test_tail
kitti_test_pipeline = _load + [dict(type='KBCrop')] + _test_tail
void_test_pipeline = nyu_test_pipeline


def _captions(name, split):
    return dict(type='RSACaptionSource', root=caption_root, dataset=name, split=split)


train_dataloader = dict(
    batch_size=8,  # per dataset and step
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='PerDatasetBatchSampler', epoch_length='min'),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['dataset_name', 'protocol'],  # these differ between the datasets
        datasets=[
            dict(type='NYUv2Dataset', data_root=nyu_root, split='train',
                 caption_source=_captions('nyu', 'train'), pipeline=nyu_train_pipeline),
            dict(type='KITTIDataset', data_root=kitti_root, split='train',
                 caption_source=_captions('kitti', 'train'), pipeline=kitti_train_pipeline),
            dict(type='VOIDDataset', data_root=void_root, split='train',
                 caption_source=_captions('void', 'train'), pipeline=void_train_pipeline),
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
            dict(type='NYUv2Dataset', data_root=nyu_root, split='test', test_mode=True,
                 protocol=dict(crop=None), caption_source=_captions('nyu', 'test'),
                 pipeline=nyu_test_pipeline),
            dict(type='KITTIDataset', data_root=kitti_root, split='test', test_mode=True,
                 caption_source=_captions('kitti', 'test'), pipeline=kitti_test_pipeline),
            dict(type='VOIDDataset', data_root=void_root, split='test', test_mode=True,
                 caption_source=_captions('void', 'test'), pipeline=void_test_pipeline),
        ]))
test_dataloader = val_dataloader

val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
