# The offline quickstart trained from the frozen-feature cache:
#   python tools/cache_features.py configs/cache/tr2m_synthetic.py   # once: Dr, tokens, captions
#   python tools/train.py configs/cache/tr2m_synthetic.py   # never builds the frozen models
# The quickstart's RandomCrop cannot be cached (a crop changes every ViT token), so this config
# resizes the 96x128 frames to the 84x112 network input instead; RandomFlip is cached as a
# second view. What the cache is keyed on: docs/user_guides/speed.md, "Frozen-feature cache".
_base_ = ['../quickstart/tr2m_synthetic.py']
cache = dict(root='work_dirs/cache/tr2m_synthetic', dtype='float16')
train_pipeline = [
    dict(type='LoadRGBImage'),
    dict(type='LoadDepth'),
    dict(type='Resize', scale=(84, 112), size_divisor=14),
    dict(type='RandomFlip', prob=0.5),
    dict(type='LoadCaption', mode='random'),
    dict(type='PackDepthInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
work_dir = 'work_dirs/tr2m_synthetic_cached'
