"""Evaluation: :class:`DepthMetric` (registered in :data:`tr2m.registry.METRICS`) and, re-exported
from :mod:`tr2m.functional`, the functional depth metrics and alignments."""
from tr2m.functional import (
    align_global,
    align_lsq,
    align_lsq_inverse,
    align_median,
    apply_scale_shift,
    compute_depth_metrics,
    crop_box,
    depth_metric_sums,
    eval_mask,
    fit_global_scale_shift,
    metrics_from_sums,
    scale_shift_sums,
    solve_scale_shift,
)

from .metrics import DepthMetric

__all__ = [
    'compute_depth_metrics', 'eval_mask', 'crop_box', 'depth_metric_sums', 'metrics_from_sums',
    'align_median', 'align_lsq', 'align_lsq_inverse', 'align_global', 'fit_global_scale_shift',
    'scale_shift_sums', 'solve_scale_shift', 'apply_scale_shift', 'DepthMetric'
]
