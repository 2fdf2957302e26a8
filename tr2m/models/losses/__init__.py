"""Losses: thin registered classes over pure functions. The shared maths (the scale/shift fit,
``d1``, precision guards) lives in :mod:`tr2m.functional`; ``fit_scale_shift`` is re-exported
here, its public import path."""
from .huber_loss import HuberDepthLoss, huber_depth_loss
from .l1_loss import L1DepthLoss, l1_depth_loss
from .pseudo_depth_loss import ThresholdedPseudoDepthLoss, fit_scale_shift, pseudo_metric_depth
from .silog_loss import SiLogLoss, silog_loss
from .smoothness_loss import EdgeAwareSmoothnessLoss, edge_aware_smoothness
from .soc_loss import (
    class_range,
    class_separability,
    depth_classes,
    downsample_depth,
    reduce_labels,
    soc_class_stats,
    soc_loss,
    soc_pos_frac,
    soc_query_losses,
    soc_similarity_stats,
)

__all__ = [
    'silog_loss', 'SiLogLoss', 'fit_scale_shift', 'pseudo_metric_depth',
    'ThresholdedPseudoDepthLoss', 'depth_classes', 'downsample_depth', 'class_range',
    'reduce_labels', 'soc_class_stats', 'soc_query_losses', 'soc_similarity_stats', 'soc_loss',
    'soc_pos_frac',
    'class_separability', 'edge_aware_smoothness',
    'EdgeAwareSmoothnessLoss', 'l1_depth_loss', 'L1DepthLoss', 'huber_depth_loss',
    'HuberDepthLoss'
]
