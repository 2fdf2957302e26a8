# Your own RGB-D frames (docs/user_guides/own_frames.md): a frame manifest written by
#   python tools/dataset_converters/make_manifest.py --rgb-dir ... --depth-dir ... \
#       --depth-scale 1000 --intrinsics FX FY CX CY --caption-template "..." --out ...
# (the format of ../shared/data/rgbd_real/manifest.json: rgb, depth, depth_format,
# depth_scale, K = [fx, fy, cx, cy], dataset, scene_type, captions per frame).
# Point the tools at your manifests with --cfg-options, e.g.
#   --cfg-options train_dataloader.dataset.ann_file=/data/robot/train.json \
#                 val_dataloader.dataset.ann_file=/data/robot/test.json
# (val and test share one dict). A folder instead of a manifest: see the DepthFolderDataset
# block at the end.
data_root = ''  # manifest paths are absolute or relative to the manifest's folder
# Evaluation protocol of every frame (units 'm' or 'mm'; crop None, 'eigen' or 'garg');
# per-dataset overrides go to `protocols` (keyed by the frames' `dataset`).
protocol = dict(min_depth=1e-3, max_depth=10.0, crop=None, units='m')
protocols = dict(kitti=dict(max_depth=80.0))

train_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    # one training size for every frame (a multiple of 14 for ViT/14 encoders)
    dict(type='Resize', scale=(476, 644), size_divisor=14),
    dict(type='RandomFlip', prob=0.5),
    dict(type='LoadCaption', mode='random'),
    dict(type='PackDepthInputs'),
]
test_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    # the network sees the frame resized; metrics and pictures use the GT at full resolution
    dict(type='Resize', scale=(476, 644), keep_ratio=True, size_divisor=14,
         resize_depth=False),
    dict(type='LoadCaption', mode='index', index=0),
    dict(type='PackDepthInputs'),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='DepthManifestDataset', data_root=data_root,
                 ann_file='data/my_frames/train.json', protocol=protocol, protocols=protocols,
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,  # frames of different sizes
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='DepthManifestDataset', data_root=data_root,
                 ann_file='data/my_frames/test.json', protocol=protocol, protocols=protocols,
                 pipeline=test_pipeline, test_mode=True),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator

# A folder instead (rgb/<name>.png + depth/<name>.png, optional intrinsics.json and
# captions.json; tr2m/datasets/folder_dataset.py), with a caption template:
# test_dataloader = dict(dataset=dict(
#     _delete_=True, type='DepthFolderDataset', data_root='data/my_robot',
#     depth_format='png_uint16', depth_scale=1000.0, intrinsics=[525.0, 525.0, 319.5, 239.5],
#     caption_source=dict(type='FixedCaptionSource', captions='A photo of an office.'),
#     protocol=dict(name='my_robot', max_depth=10.0), pipeline=test_pipeline, test_mode=True))
