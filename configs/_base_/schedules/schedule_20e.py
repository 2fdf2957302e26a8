# The paper's schedule: AdamW, lr 1e-5, lr x0.9 after every epoch, 20 epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    # the optimizer holds the trainable parameters only, and AdamW runs fused (one kernel per
    # tensor, CPU and CUDA; `fused=False` in `optimizer` opts out)
    constructor='TrainableOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-5, betas=(0.9, 0.999), weight_decay=1e-2),
    clip_grad=None,
)
param_scheduler = [dict(type='ExponentialLR', gamma=0.9, by_epoch=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
