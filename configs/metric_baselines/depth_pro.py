# Depth Pro on TR2M's test sets (NYUv2, KITTI, VOID, C3VD; per-dataset results, C3VD in mm),
# focal length from its FOV head. Run: python tools/test.py THIS_CONFIG none
_base_ = [
    '../_base_/models/metric_depth_pro.py', '../_base_/datasets/mixed_nyu_kitti_void_c3vd.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
