# C3VD colonoscopy phantom (depth in mm, (0, 100] mm, no crop); template captions.
# Layout and preparation: tools/dataset_converters/README.md (prepare_c3vd.py)
dataset_type = 'C3VDDataset'
data_root = 'data/c3vd'
caption_source = dict(type='TemplateCaptionSource', preset='c3vd')

train_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(518, 644), size_divisor=14),  # 1080 x 1350 -> 518 x 644
    dict(type='RandomFlip', prob=0.5),
    dict(type='LoadCaption', mode='random'),
    dict(type='PackDepthInputs'),
]
test_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(518, 648), keep_ratio=True, size_divisor=14,
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
        caption_source=caption_source,
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
        caption_source=caption_source,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
