# Depth Anything V2 metric outdoor (Virtual KITTI 2, max 80 m), Large, on the KITTI test set.
# Small / Base: --cfg-options model.arch=da_v2_metric_outdoor_s (or _b).
_base_ = [
    '../_base_/models/metric_da_v2.py', '../_base_/datasets/kitti.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
model = dict(arch='da_v2_metric_outdoor_l')
