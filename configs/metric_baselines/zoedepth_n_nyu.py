# ZoeD-M12-N (NYUv2 bins, 1e-3..10 m) on the NYUv2 test set (Eigen crop).
_base_ = [
    '../_base_/models/metric_zoedepth.py', '../_base_/datasets/nyu.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
model = dict(arch='zoedepth_n')  # Intel/zoedepth-nyu
