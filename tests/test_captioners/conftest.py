"""Real frames for the captioner tests: 3 NYUv2 (480 x 640) and 3 KITTI (375 x 1242) images, read
in place from ``../shared/data/rgbd_real``."""
import cv2
import pytest


@pytest.fixture(scope='session')
def real_frames(rgbd_real, rgbd_manifest):
    """``(images, keys)``: RGB uint8 arrays and their paths relative to ``rgbd_real``."""
    frames = [f for f in rgbd_manifest if f['dataset'] in ('nyu_v2', 'kitti')]
    images = [cv2.imread(str(rgbd_real / f['rgb']))[:, :, ::-1].copy() for f in frames]
    return images, [f['rgb'] for f in frames]
