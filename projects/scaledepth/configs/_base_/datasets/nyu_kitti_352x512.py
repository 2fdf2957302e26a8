# ScaleDepth-NK's data (released _base_/datasets/nyu_kitti.py): NYUv2 (BTS sync train) and
# KITTI (Eigen train, KB crop) in one shuffled stream, every image a random 352x512 crop after a
# random flip, then brightness/contrast, gamma and HSV jitter; no captions. Test: the NYUv2
# (480x640, Eigen crop) and KITTI (KB crop 352x1216, Garg crop) test sets at full size (the
# model slides 352x512 windows over them); DepthMetric reports each under its protocol.
# Layout and preparation of data/nyu and data/kitti: tools/dataset_converters/README.md.
crop_size = (352, 512)
nyu_root = 'data/nyu'
kitti_root = 'data/kitti'
_load = [dict(type='LoadRGBImage'), dict(type='LoadDepth')]
_train_tail = [
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomColorAugment', prob=0.5),
    dict(type='PackDepthInputs'),
]
nyu_train_pipeline = _load + _train_tail
kitti_train_pipeline = _load + [dict(type='KBCrop')] + _train_tail
nyu_test_pipeline = _load + [dict(type='PackDepthInputs')]
kitti_test_pipeline = _load + [dict(type='KBCrop'), dict(type='PackDepthInputs')]

train_dataloader = dict(
    batch_size=8,  # per GPU; released: 8 x 4 GPUs = 32
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['dataset_name', 'protocol'],  # these differ between the datasets
        datasets=[
            dict(type='NYUv2Dataset', data_root=nyu_root, split='train',
                 pipeline=nyu_train_pipeline),
            dict(type='KITTIDataset', data_root=kitti_root, split='train',
                 pipeline=kitti_train_pipeline),
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
                 pipeline=nyu_test_pipeline),
            dict(type='KITTIDataset', data_root=kitti_root, split='test', test_mode=True,
                 pipeline=kitti_test_pipeline),
        ]))
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
