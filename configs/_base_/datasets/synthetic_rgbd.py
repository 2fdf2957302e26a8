# The offline demo set: procedurally generated indoor / outdoor / endoscopic RGB-D frames with
# captions (tr2m/datasets/synthetic.py). Make it with
#   python tools/dataset_converters/make_synthetic_rgbd.py data/synthetic
# Frames are 96x128; the networks see 84x112 (multiples of 14).
data_root = 'data/synthetic'
protocols = dict(
    synthetic_indoor=dict(min_depth=1e-3, max_depth=10.0, crop=None, units='m'),
    synthetic_outdoor=dict(min_depth=1e-3, max_depth=80.0, crop=None, units='m'),
    synthetic_endoscopic=dict(min_depth=1e-3, max_depth=0.2, crop=None, units='m'),
)
train_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='RandomCrop', crop_size=(84, 112)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='LoadCaption', mode='random'),
    dict(type='PackDepthInputs'),
]
test_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='Resize', scale=(84, 112), size_divisor=14),
    dict(type='LoadDepth'),  # after Resize: the GT keeps its full 96x128 resolution
    dict(type='LoadCaption', mode='index', index=0),
    dict(type='PackDepthInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='DepthManifestDataset', data_root=data_root, ann_file='train.json',
                 protocols=protocols, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=6,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='DepthManifestDataset', data_root=data_root, ann_file='test.json',
                 protocols=protocols, pipeline=test_pipeline, test_mode=True),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
