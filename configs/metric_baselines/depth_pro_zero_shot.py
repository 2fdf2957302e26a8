# Depth Pro on the zero-shot sets (SUN RGB-D, iBims-1, HyperSim, DIODE Outdoor, SimCol in mm).
_base_ = [
    '../_base_/models/metric_depth_pro.py', '../_base_/datasets/zero_shot.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
