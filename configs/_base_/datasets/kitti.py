# KITTI Eigen split with the annotated GT: train 23,158, test 652 (lines without GT skipped).
# Layout and preparation: tools/dataset_converters/README.md (prepare_kitti.py)
dataset_type = 'KITTIDataset'
data_root = 'data/kitti'
caption_root = 'data/rsa_text/text/text_all'

train_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='KBCrop'),  # 352 x 1216
    dict(type='Resize', scale=(352, 1216), size_divisor=14),  # 350 x 1218
    dict(type='RandomFlip', prob=0.5),
    dict(type='LoadCaption', mode='random'),
    dict(type='PackDepthInputs'),
]
test_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='KBCrop'),  # image and GT: the evaluated region is 352 x 1216
    dict(type='Resize', scale=(352, 1216), keep_ratio=True, size_divisor=14,
         resize_depth=False),
    dict(type='LoadCaption', mode='index', index=0),
    dict(type='PackDepthInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers='auto',  # from the machine's CPUs (tr2m.utils.workers)
    persistent_workers=True,
    pin_memory='auto',  # pinned where a CUDA device is present
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        caption_source=dict(
            type='RSACaptionSource', root=caption_root, dataset='kitti', split='train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        caption_source=dict(
            type='RSACaptionSource', root=caption_root, dataset='kitti', split='test'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
