# TR2M's training mixture: NYUv2 + KITTI + VOID + C3VD at once (paper, section 4).
# Each dataset keeps its own pipeline (sizes are multiples of the ViT patch, 14); every batch
# holds one dataset only (GroupByDatasetBatchSampler), because sizes differ between datasets.
# Validation/test: the four test sets, batch size 1; each sample carries its dataset's
# protocol and DepthMetric reports per dataset_name.
nyu_root = 'data/nyu'
kitti_root = 'data/kitti'
void_root = 'data/void'
c3vd_root = 'data/c3vd'
caption_root = 'data/rsa_text/text/text_all'
c3vd_captions = dict(type='TemplateCaptionSource', preset='c3vd')


_train_tail = [
    dict(type='RandomFlip', prob=0.5),
    dict(type='LoadCaption', mode='random'),
    dict(type='PackDepthInputs'),
]
_test_tail = [
    dict(type='LoadCaption', mode='index', index=0),
    dict(type='PackDepthInputs'),
]
_load = [dict(type='LoadRGBImage'), dict(type='LoadDepth')]

nyu_train_pipeline = _load + [dict(type='Resize', scale=(480, 640), size_divisor=14)] + _train_tail
kitti_train_pipeline = _load + [
    dict(type='KBCrop'),
    dict(type='Resize', scale=(352, 1216), size_divisor=14),
] + _train_tail
void_train_pipeline = nyu_train_pipeline
c3vd_train_pipeline = _load + [dict(type='Resize', scale=(518, 644), size_divisor=14)] + _train_tail

nyu_test_pipeline = _load + [
    dict(type='Resize', scale=(480, 640), keep_ratio=True, size_divisor=14, resize_depth=False),
] + _test_tail
kitti_test_pipeline = _load + [
    dict(type='KBCrop'),
    dict(type='Resize', scale=(352, 1216), keep_ratio=True, size_divisor=14,
         resize_depth=False),
] + _test_tail
void_test_pipeline = nyu_test_pipeline
c3vd_test_pipeline = _load + [
    dict(type='Resize', scale=(518, 648), keep_ratio=True, size_divisor=14, resize_depth=False),
] + _test_tail

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='GroupByDatasetBatchSampler'),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['dataset_name', 'protocol'],  # these differ between the datasets
        datasets=[
            dict(type='NYUv2Dataset', data_root=nyu_root, split='train',
                 caption_source=dict(type='RSACaptionSource', root=caption_root,
                                     dataset='nyu', split='train'),
                 pipeline=nyu_train_pipeline),
            dict(type='KITTIDataset', data_root=kitti_root, split='train',
                 caption_source=dict(type='RSACaptionSource', root=caption_root,
                                     dataset='kitti', split='train'),
                 pipeline=kitti_train_pipeline),
            dict(type='VOIDDataset', data_root=void_root, split='train',
                 caption_source=dict(type='RSACaptionSource', root=caption_root,
                                     dataset='void', split='train'),
                 pipeline=void_train_pipeline),
            dict(type='C3VDDataset', data_root=c3vd_root, split='train',
                 caption_source=c3vd_captions, pipeline=c3vd_train_pipeline),
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
                 caption_source=dict(type='RSACaptionSource', root=caption_root,
                                     dataset='nyu', split='test'),
                 pipeline=nyu_test_pipeline),
            dict(type='KITTIDataset', data_root=kitti_root, split='test', test_mode=True,
                 caption_source=dict(type='RSACaptionSource', root=caption_root,
                                     dataset='kitti', split='test'),
                 pipeline=kitti_test_pipeline),
            dict(type='VOIDDataset', data_root=void_root, split='test', test_mode=True,
                 caption_source=dict(type='RSACaptionSource', root=caption_root,
                                     dataset='void', split='test'),
                 pipeline=void_test_pipeline),
            dict(type='C3VDDataset', data_root=c3vd_root, split='test', test_mode=True,
                 caption_source=c3vd_captions, pipeline=c3vd_test_pipeline),
        ]))
test_dataloader = val_dataloader

val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
