from .depth_io import DEPTH_FORMATS, read_depth, read_rgb, register_depth_format
from .manifest_dataset import DepthManifestDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'DepthManifestDataset', 'DEPTH_FORMATS', 'read_depth', 'read_rgb', 'register_depth_format'
]
