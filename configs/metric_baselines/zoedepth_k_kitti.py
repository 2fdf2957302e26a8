# ZoeD-M12-K (KITTI bins, 1e-3..80 m) on the KITTI Eigen test set (Garg crop).
_base_ = [
    '../_base_/models/metric_zoedepth.py', '../_base_/datasets/kitti.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
model = dict(arch='zoedepth_k')  # Intel/zoedepth-kitti, loaded with ZoeDepth's KITTI bins
