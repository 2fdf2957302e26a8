# NeWCRFs' full code path at toy width on the offline demo set (CPU, a few minutes):
#   python tools/dataset_converters/make_synthetic_rgbd.py data/synthetic
#   python tools/train.py projects/newcrfs/configs/newcrfs_toy_synthetic.py
# The `toy` preset: a Swin built through timm with embed_dim 16 and two blocks per stage,
# CRF widths 16-128, random initialisation (no pretrained weights offline). The released
# augmentations, loss and flip fusion; one max depth of 80 m for the three domains. Training
# from scratch, not fine-tuning a pretrained Swin-L: no stochastic depth, a larger learning rate
# than the released 2e-5 with a one-epoch warm-up, and gradient clipping (at 3e-3 without them
# the loss diverged after 23 epochs, measured).
_base_ = [
    '../../../configs/_base_/datasets/synthetic_rgbd.py',
    '../../../configs/_base_/default_runtime.py'
]
custom_imports = dict(imports=['projects.newcrfs.newcrfs'], allow_failed_imports=False)

model = dict(
    type='NeWCRFs', arch='toy', pretrained=None, max_depth=80.0, flip_test=True,
    backbone=dict(drop_path_rate=0.0),
    # the endoscopic domain is 7-100 mm deep: supervise every valid pixel
    loss=dict(type='NeWCRFsSiLogLoss', variance_focus=0.85, min_depth=1e-3))

train_pipeline = [  # full 96 x 128 frames (a multiple of 32)
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='RandomRotate', max_angle=2.5),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NeWCRFsColorAugment', prob=0.5),
    dict(type='PackDepthInputs'),
]
test_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='PackDepthInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-3),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, by_epoch=True, begin=1, end=30,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=6))
work_dir = 'work_dirs/newcrfs_toy_synthetic'
