"""Geometric transforms that keep the image, depth maps, masks and intrinsics consistent.

Each transform acts on ``results['img']`` and on every key listed in ``results['depth_fields']``
(``gt_depth``, ``gt_valid``, ``rel_depth``; filled by the loading transforms). Depth-like maps are
resampled with nearest neighbour so no depth is invented between a surface and the background.
Intrinsics ``[fx, fy, cx, cy]`` follow every change.
"""
from typing import Sequence, Tuple

import cv2
import numpy as np

from tr2m.datasets.seeding import sample_rng
from tr2m.datasets.transforms.base import BaseTransform
from tr2m.registry import TRANSFORMS
from tr2m.utils.errors import DataError


def _depth_keys(results: dict) -> list:
    return [k for k in results.get('depth_fields', []) if k in results]


def _resize_map(arr: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
    if arr.dtype == np.bool_:  # nearest neighbour keeps 0/1 bytes: a view, no conversion pass
        src = np.ascontiguousarray(arr).view(np.uint8)
        return cv2.resize(src, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST).view(bool)
    return cv2.resize(arr, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)


#: dtypes ``cv2.flip`` takes (bool through a uint8 view).
_CV2_FLIP_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64)


def flip_lr(arr: np.ndarray) -> np.ndarray:
    """``arr[:, ::-1]`` as a new C-contiguous array (``(H, W)`` or ``(H, W, C)``).

    ``cv2.flip`` does it in one pass; numpy's copy of a reversed view of an ``(H, W, 3)`` uint8
    image is ~40x slower (2.3 ms against 0.05 ms for 480 x 640), a quarter of a training
    sample's time. Other dtypes fall back to numpy; the result is the same either way.
    """
    if arr.ndim in (2, 3) and arr.size and (arr.ndim == 2 or arr.shape[2] <= 4):
        if arr.dtype == np.bool_:
            src = np.ascontiguousarray(arr).view(np.uint8)
            return cv2.flip(src, 1).reshape(arr.shape).view(bool)
        if arr.dtype.type in _CV2_FLIP_DTYPES:
            out = cv2.flip(np.ascontiguousarray(arr), 1)
            return out.reshape(arr.shape)  # cv2 drops a trailing channel axis of 1
    return np.ascontiguousarray(arr[:, ::-1])


def _crop_all(results: dict, y0: int, x0: int, h: int, w: int) -> None:
    results['img'] = results['img'][y0:y0 + h, x0:x0 + w]
    for key in _depth_keys(results):
        results[key] = results[key][y0:y0 + h, x0:x0 + w]
    if results.get('intrinsics') is not None:
        fx, fy, cx, cy = results['intrinsics']
        results['intrinsics'] = [fx, fy, cx - x0, cy - y0]
    results['img_shape'] = (h, w)


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize the image (bilinear, or area when shrinking) and, optionally, its depth maps.

    Args:
        scale (tuple[int, int]): target ``(H, W)``.
        keep_ratio (bool): if True, scale by one factor so the image fits inside ``scale``
            (``'lower_bound'`` keeps it covering ``scale`` instead, as Depth Anything does).
            Defaults to False.
        size_divisor (int): round each side to the nearest multiple of this (14 for ViT/14
            encoders). Defaults to 1.
        resize_depth (bool): also resize the maps in ``depth_fields``. Test pipelines set False
            (or load depth after resizing) so the GT keeps its original resolution.
            Defaults to True.
    """

    def __init__(self, scale: Sequence[int], keep_ratio=False, size_divisor: int = 1,
                 resize_depth: bool = True) -> None:
        if len(scale) != 2 or min(scale) <= 0:
            raise ValueError(f'Resize scale must be (H, W) with positive sides, got {scale}')
        if keep_ratio not in (False, True, 'lower_bound'):
            raise ValueError(f"keep_ratio must be False, True or 'lower_bound', got {keep_ratio!r}")
        self.scale = (int(scale[0]), int(scale[1]))
        self.keep_ratio = keep_ratio
        self.size_divisor = int(size_divisor)
        self.resize_depth = resize_depth

    def target_shape(self, h: int, w: int) -> Tuple[int, int]:
        """Output ``(H, W)`` for an input of ``(h, w)``."""
        th, tw = self.scale
        if self.keep_ratio:
            pick = max if self.keep_ratio == 'lower_bound' else min
            factor = pick(th / h, tw / w)
            th, tw = h * factor, w * factor
        d = self.size_divisor
        return max(d, int(round(th / d)) * d), max(d, int(round(tw / d)) * d)

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        nh, nw = self.target_shape(h, w)
        if (nh, nw) == (h, w):
            return results
        interp = cv2.INTER_AREA if nh * nw < h * w else cv2.INTER_LINEAR
        results['img'] = cv2.resize(results['img'], (nw, nh), interpolation=interp)
        if self.resize_depth:
            for key in _depth_keys(results):
                results[key] = _resize_map(results[key], (nh, nw))
        else:
            results['depth_fields'] = []  # the GT stays at its own resolution from here on
        if results.get('intrinsics') is not None:
            fx, fy, cx, cy = results['intrinsics']
            sy, sx = nh / h, nw / w
            # pixel centres: x' + 0.5 = (x + 0.5) * s
            results['intrinsics'] = [fx * sx, fy * sy, (cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5]
        results['img_shape'] = (nh, nw)
        results['scale_factor'] = (nw / w, nh / h)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, '
                f'size_divisor={self.size_divisor}, resize_depth={self.resize_depth})')


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Horizontal flip with probability ``prob``; ``cx`` becomes ``W - 1 - cx``.

    Draws from the sample's seeded generator (:mod:`tr2m.datasets.seeding`) when the dataset
    provides one, else from the global numpy generator.

    Args:
        prob (float): flip probability. Defaults to 0.5.
    """

    def __init__(self, prob: float = 0.5) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomFlip prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        flip = bool(sample_rng(results).random() < self.prob)
        results['flip'] = flip
        if not flip:
            return results
        results['img'] = flip_lr(results['img'])
        for key in _depth_keys(results):
            results[key] = flip_lr(results[key])
        if results.get('intrinsics') is not None:
            fx, fy, cx, cy = results['intrinsics']
            results['intrinsics'] = [fx, fy, results['img'].shape[1] - 1 - cx, cy]
        return results


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random ``(H, W)`` window (training augmentation).

    Draws from the sample's seeded generator (:mod:`tr2m.datasets.seeding`) when the dataset
    provides one, else from the global numpy generator.

    Args:
        crop_size (tuple[int, int]): ``(H, W)``; must fit inside the image.
    """

    def __init__(self, crop_size: Sequence[int]) -> None:
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        ch, cw = self.crop_size
        if ch > h or cw > w:
            raise DataError(f'RandomCrop {self.crop_size} larger than image {(h, w)} '
                             f"({results.get('img_path')}); resize first")
        rng = sample_rng(results)
        y0 = int(rng.integers(h - ch + 1))
        x0 = int(rng.integers(w - cw + 1))
        _crop_all(results, y0, x0, ch, cw)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class KBCrop(BaseTransform):
    """KITTI benchmark crop: the bottom-centre ``352 x 1216`` window, as every KITTI toolbox does.

    Applied to image and GT alike (it defines the evaluated region), so it also sets
    ``ori_shape``, and records ``gt_window = (top, left, full_height, full_width)``: where the
    cropped GT sits in the full frame (composed with an earlier window), which the full-frame
    Garg crop of the evaluation needs (``DepthMetric(garg_crop='full_frame')``). Put it after
    ``LoadDepth``.

    Args:
        size (tuple[int, int]): ``(H, W)``. Defaults to (352, 1216).
    """

    def __init__(self, size: Sequence[int] = (352, 1216)) -> None:
        self.size = (int(size[0]), int(size[1]))

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        ch, cw = self.size
        if ch > h or cw > w:
            raise DataError(f"KBCrop {self.size} larger than image {(h, w)}: "
                             f"{results.get('img_path')}")
        top, left = h - ch, (w - cw) // 2
        _crop_all(results, top, left, ch, cw)
        results['ori_shape'] = (ch, cw)
        o_top, o_left, full_h, full_w = results.get('gt_window') or (0, 0, h, w)
        results['gt_window'] = (o_top + top, o_left + left, full_h, full_w)
        return results


@TRANSFORMS.register_module()
class CenterCrop(BaseTransform):
    """Crop the central ``(H, W)`` window.

    Args:
        crop_size (tuple[int, int]): ``(H, W)``.
        update_ori_shape (bool): treat the crop as part of the data definition (e.g. cropping
            a white border) so the evaluation GT is cropped too. Defaults to False.
    """

    def __init__(self, crop_size: Sequence[int], update_ori_shape: bool = False) -> None:
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.update_ori_shape = update_ori_shape

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        ch, cw = self.crop_size
        if ch > h or cw > w:
            raise DataError(f'CenterCrop {self.crop_size} larger than image {(h, w)}: '
                             f"{results.get('img_path')}")
        _crop_all(results, (h - ch) // 2, (w - cw) // 2, ch, cw)
        if self.update_ori_shape:
            results['ori_shape'] = (ch, cw)
        return results


@TRANSFORMS.register_module()
class RandomRotate(BaseTransform):
    """Rotate by a random angle about the image centre (the BTS / AdaBins / NeWCRFs augmentation).

    The angle is drawn uniformly from ``[-max_angle, max_angle]`` degrees; positive angles turn
    the content counter-clockwise, as PIL's ``Image.rotate`` (which those codebases use) does,
    about the same centre (``((W - 1) / 2, (H - 1) / 2)`` in pixel-centre coordinates). The
    image is resampled bilinearly, the maps in ``depth_fields`` with nearest neighbour; pixels
    rotated in from outside the frame are 0 (black image, depth 0, ``gt_valid`` False), so they
    never count as ground truth. The drawn angle is recorded as ``results['rotate_angle']``.

    Intrinsics are left as they are: an in-plane rotation of the image is a roll of the camera
    about its optical axis only when the principal point is the image centre and ``fx == fy``,
    and it has no exact pinhole ``[fx, fy, cx, cy]`` otherwise; for the few degrees this
    augmentation uses the error is small, but do not rely on it for geometry.

    Args:
        max_angle (float): largest absolute angle, degrees (NeWCRFs: 2.5 on NYUv2, 1.0 on
            KITTI).
        prob (float): probability of rotating at all. Defaults to 1.0 (as those codebases do).
    """

    def __init__(self, max_angle: float, prob: float = 1.0) -> None:
        if not max_angle >= 0:
            raise ValueError(f'RandomRotate max_angle must be >= 0 degrees, got {max_angle}')
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomRotate prob must be in [0, 1], got {prob}')
        self.max_angle = float(max_angle)
        self.prob = prob

    @staticmethod
    def rotate(arr: np.ndarray, angle: float, nearest: bool) -> np.ndarray:
        """``arr`` (H, W[, C]) rotated by ``angle`` degrees about its centre, zeros outside."""
        h, w = arr.shape[:2]
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
        src = arr.astype(np.uint8) if arr.dtype == np.bool_ else arr
        out = cv2.warpAffine(src, matrix, (w, h),
                             flags=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return out.astype(bool) if arr.dtype == np.bool_ else out

    def transform(self, results: dict) -> dict:
        rotate = bool(np.random.rand() < self.prob)
        angle = float(np.random.uniform(-self.max_angle, self.max_angle)) if rotate else 0.0
        results['rotate_angle'] = angle
        if angle == 0.0:
            return results
        results['img'] = self.rotate(results['img'], angle, nearest=False)
        for key in _depth_keys(results):
            results[key] = self.rotate(results[key], angle, nearest=True)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(max_angle={self.max_angle}, prob={self.prob})'
