# Depth Anything Small alone, aligned at evaluation time: ONE scale and shift per test set,
# fitted in inverse space over all of its images.
# Test sets of TR2M's mixture (per-dataset results). Run: python tools/test.py THIS_CONFIG none
_base_ = [
    '../_base_/models/relative_da_s.py', '../_base_/datasets/mixed_nyu_kitti_void_c3vd.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
val_evaluator = dict(type='DepthMetric', alignment='global')
test_evaluator = dict(type='DepthMetric', alignment='global')
