# Depth Anything Small alone, aligned at evaluation time: per-image least squares
# s * Dr + t ~ 1 / gt (the MiDaS protocol).
# Test sets of TR2M's mixture (per-dataset results). Run: python tools/test.py THIS_CONFIG none
_base_ = [
    '../_base_/models/relative_da_s.py', '../_base_/datasets/mixed_nyu_kitti_void_c3vd.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
val_evaluator = dict(type='DepthMetric', alignment='lsq_inverse')
test_evaluator = dict(type='DepthMetric', alignment='lsq_inverse')
