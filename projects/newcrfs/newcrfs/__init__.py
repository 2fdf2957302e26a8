"""NeWCRFs (Yuan et al., CVPR 2022) for tr2m: importing this package registers its components
into tr2m's registries (the project's configs do it through ``custom_imports``)."""
from .convert import convert_released_state_dict
from .crf_layer import NeuralWindowCRF, window_attention
from .decode_head import NeWCRFsHead
from .disp_head import NeWCRFsDispHead, convex_upsample
from .newcrfs import NEWCRFS_PRESETS, NeWCRFs, flip_fuse
from .psp_head import NeWCRFsPSP
from .silog_loss import NeWCRFsSiLogLoss, newcrfs_silog_loss
from .swin_backbone import SWIN_PRESETS, NeWCRFsSwin
from .transforms import NeWCRFsColorAugment, NeWCRFsValidBox, color_augment

__all__ = [
    'NeWCRFs', 'NeWCRFsSwin', 'NeWCRFsHead', 'NeWCRFsPSP', 'NeuralWindowCRF', 'NeWCRFsDispHead',
    'NeWCRFsSiLogLoss', 'NeWCRFsColorAugment', 'NeWCRFsValidBox', 'NEWCRFS_PRESETS',
    'SWIN_PRESETS', 'newcrfs_silog_loss', 'window_attention', 'convex_upsample', 'flip_fuse',
    'color_augment', 'convert_released_state_dict'
]
