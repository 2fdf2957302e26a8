"""The ground floor of tr2m: pure torch maths shared by losses, depthers, metrics and pictures.

Imports only torch, numpy and the standard library (no other tr2m package), so every floor
above may use it:

- :mod:`~tr2m.functional.fit`: the one least-squares scale/shift fit (per image or pooled) and
  its one rule for degenerate images (no valid pixel: the identity ``(1, 0)``).
- :mod:`~tr2m.functional.affine`: ``1 / max(s * x + t, MIN_INV_DEPTH)`` (TR2M eq. 3), the
  inverse-depth floor, applying a fit, clamping to an evaluation range.
- :mod:`~tr2m.functional.align`: median / per-image least-squares / dataset-global alignment.
- :mod:`~tr2m.functional.masks`: Eigen and Garg crops with their conventions, evaluation masks.
- :mod:`~tr2m.functional.metrics`: the standard metrics as additive per-image sums, their
  aggregation, the ``d1`` ratio.
- :mod:`~tr2m.functional.boundary`: Depth Pro's boundary F1.
- :mod:`~tr2m.functional.precision`: float32 guards for mixed precision.

Conventions: tensors are ``(..., H, W)``, masks are boolean and broadcast, every function
ignores masked-out pixels.
"""
from .affine import (
    ALIGN_SPACES,
    DEPTH_EPS,
    MIN_INV_DEPTH,
    affine_inverse_to_depth,
    apply_scale_shift,
    clamp_to_range,
    safe_inverse,
)
from .align import align_global, align_lsq, align_lsq_inverse, align_median, fit_global_scale_shift
from .boundary import (
    BOUNDARY_KEYS,
    BOUNDARY_REDUCTIONS,
    BOUNDARY_THRESHOLDS,
    BOUNDARY_WEIGHTINGS,
    aggregate_boundary_counts,
    boundary_counts,
    boundary_f1,
    boundary_scores,
)
from .fit import (
    DEGENERATE_REL_VAR,
    fit_scale_shift,
    scale_shift_sums,
    solve_scale_shift,
)
from .masks import (
    CROPS,
    EIGEN_CONVENTIONS,
    GARG_CONVENTIONS,
    GARG_CROP_FRACTIONS,
    EIGEN_CROP_480x640,
    crop_box,
    crop_convention,
    eval_mask,
)
from .metrics import (
    AGGREGATIONS,
    DELTA_THRESHOLD,
    METRIC_KEYS,
    SUM_KEYS,
    aggregate_metric_sums,
    compute_depth_metrics,
    delta1_per_image,
    delta_ratio,
    depth_metric_sums,
    metrics_from_sums,
)
from .precision import autocast_off, float32_math

__all__ = [
    # fit
    'DEGENERATE_REL_VAR', 'fit_scale_shift', 'scale_shift_sums', 'solve_scale_shift',
    # affine maps and floors
    'MIN_INV_DEPTH', 'DEPTH_EPS', 'ALIGN_SPACES', 'affine_inverse_to_depth',
    'apply_scale_shift', 'safe_inverse', 'clamp_to_range',
    # alignment
    'align_median', 'align_lsq', 'align_lsq_inverse', 'fit_global_scale_shift', 'align_global',
    # crops and masks
    'CROPS', 'EIGEN_CROP_480x640', 'GARG_CROP_FRACTIONS', 'EIGEN_CONVENTIONS',
    'GARG_CONVENTIONS', 'crop_box', 'crop_convention', 'eval_mask',
    # metrics
    'METRIC_KEYS', 'SUM_KEYS', 'DELTA_THRESHOLD', 'AGGREGATIONS', 'delta_ratio',
    'delta1_per_image', 'depth_metric_sums', 'metrics_from_sums', 'compute_depth_metrics',
    'aggregate_metric_sums',
    # boundary
    'BOUNDARY_THRESHOLDS', 'BOUNDARY_WEIGHTINGS', 'BOUNDARY_REDUCTIONS', 'BOUNDARY_KEYS',
    'boundary_counts', 'boundary_scores', 'boundary_f1', 'aggregate_boundary_counts',
    # precision
    'autocast_off', 'float32_math',
]
