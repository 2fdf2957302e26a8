# SimCol3D test sequences, zero-shot: depth in mm, (0, 200] mm, no crop; template captions.
# Layout and preparation: tools/dataset_converters/README.md (prepare_simcol.py)
dataset_type = 'SimColDataset'
data_root = 'data/simcol'

test_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(475, 475), keep_ratio=True, size_divisor=14,
         resize_depth=False),  # 475 x 475 -> 476 x 476
    dict(type='LoadCaption', mode='index', index=0),
    dict(type='PackDepthInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        caption_source=dict(type='TemplateCaptionSource', preset='simcol'),
        test_mode=True,
        pipeline=test_pipeline))
val_dataloader = test_dataloader

val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
