# RSA on Depth Anything Small, trained on TR2M's data mixture (NYUv2 + KITTI + VOID + C3VD) for
# a same-data comparison. Optimiser as RSA's Depth Anything runs (Adam-style, lr 3e-5 decaying
# linearly to 1e-5); TR2M's 20 epochs and batch 8.
_base_ = [
    '../_base_/models/rsa_da_s.py', '../_base_/datasets/mixed_nyu_kitti_void_c3vd.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
optim_wrapper = dict(optimizer=dict(lr=3e-5))
param_scheduler = [
    # replaces the base's ExponentialLR: linear decay to 1e-5 over the 20 epochs
    dict(type='PolyLR', eta_min=1e-5, power=1.0, by_epoch=True, begin=0, end=20)
]
