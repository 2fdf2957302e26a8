from .caption_embedding_hook import CaptionEmbeddingHook
from .checkpoint_hook import SafeCheckpointHook
from .dead_map_hook import DeadMapHook
from .logger_hook import DepthLoggerHook
from .loss_balance_hook import LossBalanceHook
from .momentum_hook import SOCMomentumHook
from .nonfinite_guard_hook import NonFiniteGuardHook, NonFiniteLossError
from .panel_hook import ValidationPanelHook
from .preemption_hook import PreemptionHook, TrainingInterrupted
from .sample_seed_hook import SampleSeedHook
from .soc_shortcut_hook import SOCShortcutHook
from .visualization_hook import DepthVisualizationHook

__all__ = ['SOCMomentumHook', 'SOCShortcutHook', 'LossBalanceHook', 'DepthVisualizationHook',
           'SafeCheckpointHook', 'NonFiniteGuardHook', 'NonFiniteLossError', 'SampleSeedHook',
           'ValidationPanelHook', 'CaptionEmbeddingHook', 'DepthLoggerHook', 'DeadMapHook',
           'PreemptionHook', 'TrainingInterrupted']
