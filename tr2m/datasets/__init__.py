from .base_dataset import BaseDepthDataset, check_protocol, read_matrix_intrinsics
from .c3vd import C3VDDataset
from .caption_swap import CaptionSwapDataset, swap_partners
from .captions import (
    BaseCaptionSource,
    CaptionNotFoundError,
    FixedCaptionSource,
    JSONCaptionSource,
    RSACaptionSource,
    TemplateCaptionSource,
    build_caption_source,
)
from .depth_io import DEPTH_FORMATS, read_depth, read_rgb, register_depth_format
from .diode import DIODEDataset
from .folder_dataset import DepthFolderDataset
from .hypersim import HyperSimDataset
from .ibims import IBims1Dataset
from .kitti import KITTIDataset
from .manifest_dataset import DepthManifestDataset
from .nyu import NYUv2Dataset
from .samplers import GroupByDatasetBatchSampler
from .simcol import SimColDataset
from .sunrgbd import SUNRGBDDataset
from .transforms import *  # noqa: F401,F403
from .void import VOIDDataset

__all__ = [
    'DepthManifestDataset', 'DEPTH_FORMATS', 'read_depth', 'read_rgb', 'register_depth_format',
    'BaseDepthDataset', 'check_protocol', 'read_matrix_intrinsics', 'NYUv2Dataset',
    'KITTIDataset', 'VOIDDataset', 'C3VDDataset', 'SUNRGBDDataset', 'IBims1Dataset',
    'HyperSimDataset', 'DIODEDataset', 'SimColDataset', 'DepthFolderDataset',
    'BaseCaptionSource', 'CaptionNotFoundError', 'RSACaptionSource', 'JSONCaptionSource',
    'TemplateCaptionSource', 'FixedCaptionSource', 'build_caption_source',
    'GroupByDatasetBatchSampler', 'CaptionSwapDataset', 'swap_partners'
]
