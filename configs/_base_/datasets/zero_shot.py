# Zero-shot evaluation on the paper's unseen sets at once: SUN RGB-D, iBims-1, HyperSim,
# DIODE Outdoor (metres) and SimCol (millimetres). Batch size 1 (sizes differ); each sample
# carries its own protocol (range, crop, units) and DepthMetric reports per dataset_name.
# For one set alone, inherit its own base config (sunrgbd.py, ibims.py, ...).
sunrgbd_root = 'data/sunrgbd'
ibims_root = 'data/ibims'
hypersim_root = 'data/hypersim'
diode_root = 'data/diode'
simcol_root = 'data/simcol'

_tail = [
    dict(type='LoadCaption', mode='index', index=0),
    dict(type='PackDepthInputs'),
]
pipeline_480x640 = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(480, 640), keep_ratio=True, size_divisor=14, resize_depth=False),
] + _tail
pipeline_768x1024 = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(518, 700), keep_ratio=True, size_divisor=14, resize_depth=False),
] + _tail
pipeline_simcol = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(475, 475), keep_ratio=True, size_divisor=14, resize_depth=False),
] + _tail

test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['dataset_name', 'protocol'],
        datasets=[
            dict(type='SUNRGBDDataset', data_root=sunrgbd_root, split='test', test_mode=True,
                 caption_source=dict(type='JSONCaptionSource',
                                     ann_file=sunrgbd_root + '/captions.json'),
                 pipeline=pipeline_480x640),
            dict(type='IBims1Dataset', data_root=ibims_root, split='test', test_mode=True,
                 caption_source=dict(type='JSONCaptionSource',
                                     ann_file=ibims_root + '/captions.json'),
                 pipeline=pipeline_480x640),
            dict(type='HyperSimDataset', data_root=hypersim_root, split='test', test_mode=True,
                 caption_source=dict(type='JSONCaptionSource',
                                     ann_file=hypersim_root + '/captions.json'),
                 pipeline=pipeline_768x1024),
            dict(type='DIODEDataset', data_root=diode_root, scene_type='outdoor',
                 test_mode=True,
                 caption_source=dict(type='JSONCaptionSource',
                                     ann_file=diode_root + '/captions.json'),
                 pipeline=pipeline_768x1024),
            dict(type='SimColDataset', data_root=simcol_root, split='test', test_mode=True,
                 caption_source=dict(type='TemplateCaptionSource', preset='simcol'),
                 pipeline=pipeline_simcol),
        ]))
val_dataloader = test_dataloader

test_evaluator = dict(type='DepthMetric')
val_evaluator = test_evaluator
