# RSA as released on Depth Anything Small (RSA's configs/arguments_train_3d_da.txt): NYUv2 +
# KITTI + VOID with one batch of 8 from each dataset per step, Huber loss with per-dataset
# normalisation (KITTI's left raw, as released), Adam 3e-5 -> 1e-5 poly 0.9 per step,
# gradient norm clipped at 1.0, 50 epochs. loss_norm='as_intended' normalises KITTI too.
_base_ = [
    '../_base_/models/rsa_da_s.py', '../_base_/datasets/rsa_nyu_kitti_void.py',
    '../_base_/schedules/schedule_rsa_50e.py', '../_base_/default_runtime.py'
]
