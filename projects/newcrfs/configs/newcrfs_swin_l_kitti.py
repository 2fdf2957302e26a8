# NeWCRFs (Yuan et al., CVPR 2022) on KITTI Eigen as released
# (configs/arguments_train_kittieigen.txt of aliyun/NeWCRFs): Swin-L/7 ImageNet-22k backbone,
# max depth 80 m, KB crop 352 x 1216, random rotation up to 1.0 degree (the released KITTI
# argument file says `--degree 1.0`; 2.5 is its NYUv2 value), random 352 x 1120 crops, flip,
# photometric augmentation (brightness 0.9-1.1 on KITTI), SI-log loss (0.85) on GT > 1.0 m,
# the released schedule (below; the same as the NYUv2 config).
# Evaluated under TR2M's KITTI protocol: KB crop of image and GT, Garg crop of the 352 x 1216
# GT, 1e-3..80 m. (NeWCRFs' own eval pastes the prediction into the full frame and takes the
# Garg crop of that: another region; the numbers of its paper use that one.)
_base_ = [
    '../../../configs/_base_/datasets/kitti.py',
    '../../../configs/_base_/default_runtime.py'
]
custom_imports = dict(imports=['projects.newcrfs.newcrfs'], allow_failed_imports=False)

model = dict(
    type='NeWCRFs', arch='large07', pretrained='default', max_depth=80.0, flip_test=True,
    loss=dict(type='NeWCRFsSiLogLoss', variance_focus=0.85, min_depth=1.0))

train_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='KBCrop'),  # 352 x 1216
    dict(type='RandomRotate', max_angle=1.0),
    dict(type='RandomCrop', crop_size=(352, 1120)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='NeWCRFsColorAugment', prob=0.5, brightness=(0.9, 1.1)),
    dict(type='PackDepthInputs'),
]
test_pipeline = [  # 352 x 1216, a multiple of 32: no resize
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='KBCrop'),
    dict(type='PackDepthInputs'),
]
train_dataloader = dict(batch_size=8, dataset=dict(caption_source=None, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(caption_source=None, pipeline=test_pipeline))
test_dataloader = val_dataloader

# The schedule that ran in the released NeWCRFs training (newcrfs/train.py of aliyun/NeWCRFs):
# Adam, lr 2e-5 decayed per step as (2e-5 - 2e-6) * (1 - step / total) ** 0.9 + 2e-6, batch 8,
# 50 epochs. The released argument files pass `--weight_decay 1e-2` and `--adam_eps 1e-3`,
# but train.py builds `torch.optim.Adam(params, lr=learning_rate)`: neither value ever reaches
# the optimizer. What ran -- and what is reproduced here -- is Adam with PyTorch's defaults:
# weight decay 0 and eps 1e-8.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
    clip_grad=None,
)
# mmengine's PolyLR, stepped every iteration, is (2e-5 - 2e-6) * (1 - t / (N - 1)) ** 0.9 + 2e-6
# over N iterations; the released (1 - t / N) differs from it by < 1e-9 in absolute lr over
# NYUv2's 50 x 3029 steps (tests/test_newcrfs_configs.py)
param_scheduler = [
    dict(type='PolyLR', eta_min=2e-6, power=0.9, by_epoch=True, begin=0, end=50,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(save_best='abs_rel', rule='less'))
work_dir = 'work_dirs/newcrfs_swin_l_kitti'
