# VOID-1500: test 800 frames (0.2..5 m, no crop).
# Layout and preparation: tools/dataset_converters/README.md (prepare_void.py)
dataset_type = 'VOIDDataset'
data_root = 'data/void'
caption_root = 'data/rsa_text/text/text_all'

train_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(480, 640), size_divisor=14),  # 476 x 644
    dict(type='RandomFlip', prob=0.5),
    dict(type='LoadCaption', mode='random'),
    dict(type='PackDepthInputs'),
]
test_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(480, 640), keep_ratio=True, size_divisor=14,
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
            type='RSACaptionSource', root=caption_root, dataset='void', split='train'),
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
            type='RSACaptionSource', root=caption_root, dataset='void', split='test'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
