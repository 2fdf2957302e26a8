# NYU Depth v2: BTS "sync" training set (24,231) and the official test set (654).
# Layout and preparation: tools/dataset_converters/README.md (prepare_nyu.py, prepare_rsa_text.py)
dataset_type = 'NYUv2Dataset'
data_root = 'data/nyu'
caption_root = 'data/rsa_text/text/text_all'  # RSA's caption tree

train_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(480, 640), size_divisor=14),  # 476 x 644 (ViT/14)
    dict(type='RandomFlip', prob=0.5),
    dict(type='LoadCaption', mode='random'),
    dict(type='PackDepthInputs'),
]
test_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    # the network sees 476 x 644; the GT stays 480 x 640 (Eigen crop is defined there)
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
            type='RSACaptionSource', root=caption_root, dataset='nyu', split='train'),
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
        # protocol=dict(crop=None),  # RSA's numbers: no Eigen crop
        caption_source=dict(
            type='RSACaptionSource', root=caption_root, dataset='nyu', split='test'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
