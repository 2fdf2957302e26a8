# The relative model of the offline demo alone (SimulatedRelativeDepth), aligned to the GT at
# evaluation time: the median / per-image least-squares / dataset-global baselines on the
# quickstart's test split. Nothing trains:
#   python tools/test.py configs/quickstart/relative_synthetic.py none \
#       --cfg-options test_evaluator.alignment=lsq_inverse     # or median, lsq, global
_base_ = [
    '../_base_/models/relative_da_s.py', '../_base_/datasets/synthetic_rgbd.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
model = dict(relative_depth=dict(_delete_=True, type='SimulatedRelativeDepth'))
val_evaluator = dict(type='DepthMetric', alignment='median')
test_evaluator = dict(type='DepthMetric', alignment='median')
work_dir = 'work_dirs/relative_synthetic'
