from .huber_loss import HuberDepthLoss, huber_depth_loss
from .l1_loss import L1DepthLoss, l1_depth_loss
from .pseudo_depth_loss import ThresholdedPseudoDepthLoss, fit_scale_shift, pseudo_metric_depth
from .silog_loss import SiLogLoss, silog_loss
from .smoothness_loss import EdgeAwareSmoothnessLoss, edge_aware_smoothness
from .soc_loss import (
    ScaleOrientedContrastiveLoss,
    depth_classes,
    downsample_depth,
    soc_loss,
    soc_pos_frac,
)

__all__ = [
    'silog_loss', 'SiLogLoss', 'fit_scale_shift', 'pseudo_metric_depth',
    'ThresholdedPseudoDepthLoss', 'depth_classes', 'downsample_depth', 'soc_loss', 'soc_pos_frac',
    'ScaleOrientedContrastiveLoss', 'edge_aware_smoothness', 'EdgeAwareSmoothnessLoss',
    'l1_depth_loss', 'L1DepthLoss', 'huber_depth_loss', 'HuberDepthLoss'
]
