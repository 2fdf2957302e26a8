# ScaleDepth's released schedule: AdamW lr 1e-4 (backbone x0.1), weight decay 0.05 (none on
# the head's norms, queries and level embeddings; the backbone's norms keep it, as released),
# gradient norm clipped at 0.01, poly decay (power 0.9) to 0 over 40k iterations, validation
# every 1k. (Iteration-based checkpoint and logging hooks are set in the leaf config:
# default_runtime.py defines default_hooks too.)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        custom_keys={
            'backbone': dict(lr_mult=0.1, decay_mult=1.0),
            'query_embed': dict(lr_mult=1.0, decay_mult=0.0),
            'query_feat': dict(lr_mult=1.0, decay_mult=0.0),
            'level_embed': dict(lr_mult=1.0, decay_mult=0.0),
        }),
)
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=40000, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
