from .caption_embedding_hook import CaptionEmbeddingHook
from .loss_balance_hook import LossBalanceHook
from .momentum_hook import SOCMomentumHook
from .visualization_hook import DepthVisualizationHook

__all__ = ['SOCMomentumHook', 'LossBalanceHook', 'DepthVisualizationHook', 'CaptionEmbeddingHook']
