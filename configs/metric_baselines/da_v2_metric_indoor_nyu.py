# Depth Anything V2 metric indoor (Hypersim, max 20 m), Large, on the NYUv2 test set.
# Small / Base: --cfg-options model.arch=da_v2_metric_indoor_s (or _b).
_base_ = [
    '../_base_/models/metric_da_v2.py', '../_base_/datasets/nyu.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
