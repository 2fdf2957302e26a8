"""Real RGB-D frames for the loss tests, cropped to one common size so they batch."""
from functools import cache

import numpy as np
import pytest
import torch

from tr2m.datasets.depth_io import read_depth, read_rgb

#: Bottom rows x centre columns kept from every frame (KITTI's LiDAR GT lives at the bottom),
#: then every STRIDE-th row and column (nearest subsampling keeps the real sparsity pattern).
CROP_HW = (352, 640)
STRIDE = 2


@pytest.fixture(scope='session')
def load_frame(rgbd_real, rgbd_manifest):
    """``load_frame(i) -> (depth (H, W) float32, valid (H, W) bool, rgb (3, H, W) in [0, 1])``."""

    @cache
    def load(index: int):
        frame = rgbd_manifest[index]
        depth, valid = read_depth(str(rgbd_real / frame['depth']), frame['depth_format'],
                                  frame['depth_scale'])
        rgb = read_rgb(str(rgbd_real / frame['rgb'])).astype(np.float32) / 255.0
        height, width = depth.shape
        top, left = height - CROP_HW[0], (width - CROP_HW[1]) // 2
        rows = slice(top, top + CROP_HW[0], STRIDE)
        cols = slice(left, left + CROP_HW[1], STRIDE)
        return (torch.from_numpy(depth[rows, cols].copy()),
                torch.from_numpy(valid[rows, cols].copy()),
                torch.from_numpy(rgb[rows, cols].transpose(2, 0, 1).copy()))

    return load


@pytest.fixture(scope='session')
def kitti_indices(rgbd_manifest):
    """Manifest indices of the sparse KITTI LiDAR frames."""
    indices = [i for i, f in enumerate(rgbd_manifest) if f['dataset'] == 'kitti']
    assert len(indices) >= 2
    return indices


@pytest.fixture(scope='session')
def mixed_indices(rgbd_manifest, kitti_indices):
    """One frame of every dataset in the manifest plus all KITTI frames (sorted)."""
    first = {}
    for i, frame in enumerate(rgbd_manifest):
        first.setdefault(frame['dataset'], i)
    return sorted(set(first.values()) | set(kitti_indices))


@pytest.fixture(scope='session')
def real_batch(load_frame, mixed_indices):
    """``(depth (B, 1, H, W), valid (B, 1, H, W), rgb (B, 3, H, W))`` of ``mixed_indices``."""
    frames = [load_frame(i) for i in mixed_indices]
    depth = torch.stack([f[0] for f in frames])[:, None]
    valid = torch.stack([f[1] for f in frames])[:, None]
    rgb = torch.stack([f[2] for f in frames])
    return depth, valid, rgb
