# RSA's released schedule (configs/arguments_train_3d_*.txt + train_3d.py): Adam (PyTorch
# defaults: betas 0.9/0.999, eps 1e-8, no weight decay -- the --weight_decay and --adam_eps
# arguments are parsed but never used), lr 3e-5 decaying to 1e-5 by
# lr = (3e-5 - 1e-5) * (1 - step / total) ** 0.9 + 1e-5 after every step, gradient norm
# clipped at 1.0, 50 epochs. RSA's total is 50 x NYUv2's batches while its epochs end with
# KITTI's (fewer), so its lr stops at ~1.12e-5; here the decay spans the actual training.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=3e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
    clip_grad=dict(max_norm=1.0, norm_type=2),
)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=50, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
