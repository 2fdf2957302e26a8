"""Training transforms of the released NeWCRFs data loader (``dataloaders/dataloader.py``) that
tr2m's core does not have: the BTS-style photometric augmentation and NYUv2's valid box."""
from typing import Sequence, Tuple

import numpy as np

from tr2m.datasets.transforms.base import BaseTransform
from tr2m.registry import TRANSFORMS


def color_augment(img: np.ndarray, gamma: float, brightness: float,
                  colors: Sequence[float]) -> np.ndarray:
    """``clip((img / 255) ** gamma * brightness * colors, 0, 1)`` as uint8 ``(H, W, 3)``.

    The released loader works on float images; tr2m's pipelines carry uint8 images, so the
    result is rounded back to uint8 (an error of at most half a grey level).
    """
    x = (img.astype(np.float32) / 255.0) ** gamma * brightness
    x = x * np.asarray(colors, np.float32).reshape(1, 1, 3)
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


@TRANSFORMS.register_module()
class NeWCRFsColorAugment(BaseTransform):
    """With probability ``prob``: gamma, brightness, then a per-channel colour factor, each
    drawn uniformly (released: prob 0.5, gamma 0.9-1.1, brightness 0.75-1.25 on NYUv2 and
    0.9-1.1 on KITTI, colours 0.9-1.1).

    Args:
        prob (float): Defaults to 0.5.
        gamma (tuple[float, float]): Defaults to (0.9, 1.1).
        brightness (tuple[float, float]): Defaults to (0.75, 1.25) (NYUv2).
        color (tuple[float, float]): Defaults to (0.9, 1.1).
    """

    def __init__(self, prob: float = 0.5, gamma: Tuple[float, float] = (0.9, 1.1),
                 brightness: Tuple[float, float] = (0.75, 1.25),
                 color: Tuple[float, float] = (0.9, 1.1)) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'NeWCRFsColorAugment prob must be in [0, 1], got {prob}')
        self.prob, self.gamma, self.brightness, self.color = prob, gamma, brightness, color

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        gamma = np.random.uniform(*self.gamma)
        brightness = np.random.uniform(*self.brightness)
        colors = np.random.uniform(*self.color, size=3)
        results['img'] = color_augment(results['img'], gamma, brightness, colors)
        return results


@TRANSFORMS.register_module()
class NeWCRFsValidBox(BaseTransform):
    """Invalidate the GT outside ``rows [top, bottom) x cols [left, right)``.

    The released loader zeroes NYUv2's training GT outside rows 45:472 and cols 43:608 of the
    480 x 640 frame "to avoid blank boundaries due to pixel registration". Put it right after
    ``LoadDepth``, before any geometric transform.

    Args:
        box (tuple[int, int, int, int]): ``(top, bottom, left, right)``. Defaults to
            (45, 472, 43, 608) (released, NYUv2).
    """

    def __init__(self, box: Sequence[int] = (45, 472, 43, 608)) -> None:
        self.box = tuple(int(b) for b in box)

    def transform(self, results: dict) -> dict:
        top, bottom, left, right = self.box
        keep = np.zeros(results['gt_depth'].shape, bool)
        keep[top:bottom, left:right] = True
        results['gt_depth'] = np.where(keep, results['gt_depth'], 0).astype(
            results['gt_depth'].dtype)
        if 'gt_valid' in results:
            results['gt_valid'] = results['gt_valid'] & keep
        return results
