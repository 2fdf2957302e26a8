# The relative model alone on the offline demo set, aligned at test time (median by default;
# the comparison files set lsq / lsq_inverse / global). The relative depth is SIMULATED from
# the GT (SimulatedRelativeDepth, as in the quickstart): no relative network loads offline.
_base_ = [
    '../../_base_/models/relative_da_s.py', '../../_base_/datasets/synthetic_rgbd.py',
    '../../_base_/schedules/schedule_20e.py', '../../_base_/default_runtime.py'
]
model = dict(
    # _delete_: a different component type, so none of the base's keys carry over
    relative_depth=dict(_delete_=True, type='SimulatedRelativeDepth'))
val_evaluator = dict(type='DepthMetric', alignment='median')
test_evaluator = val_evaluator
