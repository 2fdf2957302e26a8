# HyperSim test partition, zero-shot: ray distance -> planar depth, 1e-3..80 m, Eigen crop.
# Captions: captions.json you generate (tools/dataset_converters/README.md).
# The paper's captions (LLaVA v1.6 Vicuna, 5 per image) -> data/hypersim/captions.json:
#   python tools/caption.py configs/_base_/datasets/hypersim.py --captioner llava_v16_vicuna
dataset_type = 'HyperSimDataset'
data_root = 'data/hypersim'

test_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(518, 700), keep_ratio=True, size_divisor=14,
         resize_depth=False),  # 768 x 1024 -> 518 x 686
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
        # no captions yet? dict(type='FixedCaptionSource', captions='An image.') gives every
        # image the same caption (a language-free ablation, not the paper's setting)
        caption_source=dict(type='JSONCaptionSource', ann_file=data_root + '/captions.json'),
        test_mode=True,
        pipeline=test_pipeline))
val_dataloader = test_dataloader

val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
