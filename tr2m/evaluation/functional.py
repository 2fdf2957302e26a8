"""Depth evaluation maths (re-exported: their home is :mod:`tr2m.functional`).

Evaluation masks and crops (:mod:`tr2m.functional.masks`), the standard metrics
(:mod:`tr2m.functional.metrics`), Depth Pro's boundary F1 (:mod:`tr2m.functional.boundary`) and
the alignment of relative predictions (:mod:`tr2m.functional.align`, on the one scale/shift fit
of :mod:`tr2m.functional.fit`). :class:`~tr2m.evaluation.DepthMetric` is a thin wrapper around
them.
"""
from tr2m.functional.affine import ALIGN_SPACES, DEPTH_EPS, MIN_INV_DEPTH, apply_scale_shift
from tr2m.functional.align import (
    align_global,
    align_lsq,
    align_lsq_inverse,
    align_median,
    fit_global_scale_shift,
)
from tr2m.functional.boundary import (
    BOUNDARY_KEYS,
    BOUNDARY_REDUCTIONS,
    BOUNDARY_THRESHOLDS,
    BOUNDARY_WEIGHTINGS,
    aggregate_boundary_counts,
    boundary_counts,
    boundary_f1,
    boundary_scores,
)
from tr2m.functional.fit import scale_shift_sums, solve_scale_shift
from tr2m.functional.masks import (
    CROPS,
    EIGEN_CONVENTIONS,
    GARG_CONVENTIONS,
    GARG_CROP_FRACTIONS,
    EIGEN_CROP_480x640,
    GtWindow,
    crop_box,
    crop_convention,
    eval_mask,
)
from tr2m.functional.metrics import (
    AGGREGATIONS,
    METRIC_KEYS,
    SUM_KEYS,
    aggregate_metric_sums,
    compute_depth_metrics,
    depth_metric_sums,
    metrics_from_sums,
)

#: Smallest inverse depth an inverse-space alignment may produce (the one inverse-depth floor,
#: :data:`tr2m.functional.MIN_INV_DEPTH`).
MIN_INV = MIN_INV_DEPTH

__all__ = [
    'METRIC_KEYS', 'SUM_KEYS', 'AGGREGATIONS', 'CROPS', 'EIGEN_CROP_480x640',
    'GARG_CROP_FRACTIONS', 'EIGEN_CONVENTIONS', 'GARG_CONVENTIONS', 'ALIGN_SPACES', 'MIN_INV',
    'DEPTH_EPS', 'GtWindow', 'crop_box', 'crop_convention', 'eval_mask', 'depth_metric_sums',
    'metrics_from_sums', 'compute_depth_metrics', 'aggregate_metric_sums',
    'BOUNDARY_THRESHOLDS', 'BOUNDARY_WEIGHTINGS', 'BOUNDARY_REDUCTIONS', 'BOUNDARY_KEYS',
    'boundary_counts', 'boundary_scores', 'boundary_f1', 'aggregate_boundary_counts',
    'scale_shift_sums', 'solve_scale_shift', 'apply_scale_shift', 'align_median', 'align_lsq',
    'align_lsq_inverse', 'fit_global_scale_shift', 'align_global',
]
