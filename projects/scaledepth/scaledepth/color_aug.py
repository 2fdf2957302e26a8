"""Photometric augmentation of ScaleDepth's training pipelines (released: ``Albu`` with
``RandomBrightnessContrast``, ``RandomGamma``, ``HueSaturationValue`` at albumentations'
defaults), written with NumPy / OpenCV look-up tables so that no albumentations is needed.

Each of the three steps runs with probability ``prob`` (0.5), in this order, on the uint8 RGB
image only (depth is untouched):

1. brightness / contrast: ``x * (1 + a) + 255 b``, ``a, b ~ U(-0.2, 0.2)``;
2. gamma: ``255 (x / 255) ** g``, ``g ~ U(0.8, 1.2)``;
3. HSV shift: hue ``+ U(-20, 20)`` (OpenCV's 0..179 hue, wrapped), saturation and value
   ``+ U(-30, 30)`` and ``+ U(-20, 20)`` (clipped to 0..255).
"""
from typing import Sequence

import cv2
import numpy as np

from tr2m.datasets.transforms.base import BaseTransform
from tr2m.registry import TRANSFORMS


def brightness_contrast_lut(alpha: float, beta: float) -> np.ndarray:
    """uint8 table of ``clip(x * alpha + 255 * beta)``."""
    return np.clip(np.arange(256, dtype=np.float32) * alpha + 255.0 * beta, 0,
                   255).astype(np.uint8)


def gamma_lut(gamma: float) -> np.ndarray:
    """uint8 table of ``255 * (x / 255) ** gamma``."""
    return np.clip((np.arange(256, dtype=np.float32) / 255.0) ** gamma * 255.0, 0,
                   255).astype(np.uint8)


def hsv_shift(img: np.ndarray, hue: float, sat: float, val: float) -> np.ndarray:
    """Shift hue (wrapped at 180), saturation and value (clipped) of a uint8 RGB image."""
    h, s, v = cv2.split(cv2.cvtColor(img, cv2.COLOR_RGB2HSV))
    x = np.arange(256, dtype=np.int16)
    h = cv2.LUT(h, np.mod(x + int(round(hue)), 180).astype(np.uint8))
    s = cv2.LUT(s, np.clip(x + int(round(sat)), 0, 255).astype(np.uint8))
    v = cv2.LUT(v, np.clip(x + int(round(val)), 0, 255).astype(np.uint8))
    return cv2.cvtColor(cv2.merge([h, s, v]), cv2.COLOR_HSV2RGB)


@TRANSFORMS.register_module()
class RandomColorAugment(BaseTransform):
    """Random brightness/contrast, gamma and HSV shift of ``results['img']`` (uint8 RGB).

    Args:
        prob (float): probability of each of the three steps. Defaults to 0.5.
        brightness (float): brightness limit. Defaults to 0.2.
        contrast (float): contrast limit. Defaults to 0.2.
        gamma (Sequence[float]): gamma range. Defaults to (0.8, 1.2).
        hsv (Sequence[float]): hue, saturation and value shift limits. Defaults to
            (20, 30, 20).
    """

    def __init__(self, prob: float = 0.5, brightness: float = 0.2, contrast: float = 0.2,
                 gamma: Sequence[float] = (0.8, 1.2),
                 hsv: Sequence[float] = (20, 30, 20)) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob, self.brightness, self.contrast = prob, brightness, contrast
        self.gamma, self.hsv = tuple(gamma), tuple(hsv)

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3:
            raise ValueError(f"RandomColorAugment needs a uint8 (H, W, 3) image, got "
                             f"{img.dtype} {img.shape} ({results.get('img_path')})")
        rand = np.random.uniform
        if rand() < self.prob:
            lut = brightness_contrast_lut(1 + rand(-self.contrast, self.contrast),
                                          rand(-self.brightness, self.brightness))
            img = cv2.LUT(img, lut)
        if rand() < self.prob:
            img = cv2.LUT(img, gamma_lut(rand(*self.gamma)))
        if rand() < self.prob:
            img = hsv_shift(img, *(rand(-lim, lim) for lim in self.hsv))
        results['img'] = np.ascontiguousarray(img)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, brightness={self.brightness}, '
                f'contrast={self.contrast}, gamma={self.gamma}, hsv={self.hsv})')
