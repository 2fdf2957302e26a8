"""Crops and evaluation masks, with the crop conventions of the public toolboxes made explicit.

- Eigen: ``'fixed'`` rows 45:471, cols 41:601 whatever the GT size (BTS, ZoeDepth, Depth
  Anything v1; the default), or ``'scaled'``: the same fractions of an ``H x W`` frame.
- Garg: ``'gt_frame'`` the box on the GT as evaluated, i.e. on the KB-cropped 352 x 1216 GT of
  a KITTI pipeline (ZoeDepth, Depth Anything v1 metric and RSA's released code; the default), or
  ``'full_frame'``: the box on the full frame the GT was cut from (BTS's offline
  ``bts_eval.py``), which needs the sample's ``gt_window`` (set by ``KBCrop``).
"""
import math
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

#: Crop names accepted by :func:`eval_mask` (plus None for no crop).
CROPS = ('eigen', 'garg')
#: Eigen crop ``(top, bottom, left, right)`` defined on a 480 x 640 NYUv2 frame.
EIGEN_CROP_480x640 = (45, 471, 41, 601)
#: Garg crop as fractions of ``(H, H, W, W)`` (KITTI).
GARG_CROP_FRACTIONS = (0.40810811, 0.99189189, 0.03594771, 0.96405229)
#: Eigen crop conventions: literal indices at any size, or indices scaled to the GT size.
EIGEN_CONVENTIONS = ('fixed', 'scaled')
#: Garg crop conventions: on the evaluated GT (KB-cropped for KITTI) or on the full frame.
GARG_CONVENTIONS = ('gt_frame', 'full_frame')

#: Window ``(top, left, full_height, full_width)``: where a cropped GT sits in its full frame.
GtWindow = Tuple[int, int, int, int]


def _unknown_crop(crop) -> ValueError:
    return ValueError(f'unknown crop {crop!r}; valid crops: None, ' +
                      ', '.join(repr(c) for c in CROPS))


def _garg_box(height: int, width: int) -> Tuple[int, int, int, int]:
    ft, fb, fl, fr = GARG_CROP_FRACTIONS
    return int(ft * height), int(fb * height), int(fl * width), int(fr * width)


def _check_window(gt_window, height: int, width: int) -> GtWindow:
    try:
        top, left, full_h, full_w = (int(v) for v in gt_window)
    except (TypeError, ValueError) as err:
        raise ValueError(f'gt_window must be (top, left, full_height, full_width), got '
                         f'{gt_window!r}') from err
    if top < 0 or left < 0 or top + height > full_h or left + width > full_w:
        raise ValueError(f'gt_window {tuple(gt_window)} does not hold a {height} x {width} GT')
    return top, left, full_h, full_w


def crop_box(crop: str, height: int, width: int, eigen: str = 'fixed',
             garg: str = 'gt_frame', gt_window: Optional[Sequence[int]] = None
             ) -> Tuple[int, int, int, int]:
    """Rows and columns ``(top, bottom, left, right)`` (half open) of a named crop on an
    ``height x width`` GT.

    - ``'eigen'`` (Eigen et al. 2014, defined on 480 x 640 NYUv2 frames):

      - ``eigen='fixed'``: rows 45:471, cols 41:601 whatever the GT size, clipped to the frame
        (``eval_mask[45:471, 41:601] = 1`` in BTS, ZoeDepth and Depth Anything v1's metric code,
        also for SUN RGB-D / iBims / HyperSim GT of other sizes);
      - ``eigen='scaled'``: ``top = 45 * H // 480``, ``bottom = 471 * H // 480``,
        ``left = 41 * W // 640``, ``right = 601 * W // 640`` (the same fraction of any frame;
        480 x 640 gives the literal indices).

    - ``'garg'`` (Garg et al. 2016): ``int(0.40810811 H):int(0.99189189 H),
      int(0.03594771 W):int(0.96405229 W)``

      - ``garg='gt_frame'``: on the GT as evaluated. For KITTI pipelines with ``KBCrop`` that is
        the 352 x 1216 benchmark crop: rows 143:349, cols 43:1172 (ZoeDepth, Depth Anything v1,
        and RSA's released code, whose eval loader KB-crops the GT so that its BTS-style
        "uncrop" is a no-op);
      - ``garg='full_frame'``: on the full frame the GT was cut from (BTS's ``bts_eval.py``: full
        375 x 1242 GT, rows 153:371, cols 44:1197), shifted into the GT's coordinates with
        ``gt_window = (top, left, full_h, full_w)`` and clipped. Without ``gt_window`` the GT is
        its own full frame and both conventions agree. On every KITTI frame size the full-frame
        box lies inside the KB crop, so nothing is clipped there.

    Raises:
        ValueError: unknown crop or convention, or a ``gt_window`` that cannot hold the GT.
    """
    if crop == 'eigen':
        top, bottom, left, right = EIGEN_CROP_480x640
        if eigen == 'fixed':
            return (min(top, height), min(bottom, height), min(left, width), min(right, width))
        elif eigen == 'scaled':
            return (top * height // 480, bottom * height // 480,
                    left * width // 640, right * width // 640)
        else:
            raise ValueError(f'unknown eigen crop convention {eigen!r}; valid: '
                             f'{EIGEN_CONVENTIONS}')
    elif crop == 'garg':
        if garg == 'gt_frame':
            return _garg_box(height, width)
        elif garg == 'full_frame':
            if gt_window is None:
                return _garg_box(height, width)
            top, left, full_h, full_w = _check_window(gt_window, height, width)
            t, b, l_, r = _garg_box(full_h, full_w)
            clip = lambda v, n: max(0, min(v, n))  # noqa: E731
            return (clip(t - top, height), clip(b - top, height),
                    clip(l_ - left, width), clip(r - left, width))
        else:
            raise ValueError(f'unknown garg crop convention {garg!r}; valid: '
                             f'{GARG_CONVENTIONS}')
    else:
        raise _unknown_crop(crop)


def crop_convention(crop: Optional[str], eigen: str = 'fixed', garg: str = 'gt_frame'
                    ) -> Optional[str]:
    """The convention that applies to ``crop`` (``'fixed'``, ``'scaled'``, ``'gt_frame'``,
    ``'full_frame'``), or None without a crop: what a result's protocol records."""
    if crop is None:
        return None
    elif crop == 'eigen':
        return eigen
    elif crop == 'garg':
        return garg
    else:
        raise _unknown_crop(crop)


def eval_mask(gt: Tensor, min_depth: Optional[float], max_depth: Optional[float],
              crop: Optional[str] = None, eigen: str = 'fixed', garg: str = 'gt_frame',
              gt_window: Optional[Sequence[int]] = None,
              valid: Optional[Tensor] = None) -> Tensor:
    """Pixels that count in the evaluation: ``min_depth < gt < max_depth``, finite, in the crop
    (and in ``valid`` when given).

    Args:
        gt (Tensor): ground-truth depth ``(..., H, W)``; 0 (or anything <= ``min_depth``) is
            invalid.
        min_depth (float, optional): exclusive lower bound in the GT's unit; None means 0.
        max_depth (float, optional): exclusive upper bound; None (or ``inf``) means none.
        crop (str, optional): None, ``'eigen'`` or ``'garg'`` (see :func:`crop_box`).
            Defaults to None.
        eigen (str): Eigen convention, ``'fixed'`` or ``'scaled'``. Defaults to 'fixed'.
        garg (str): Garg convention, ``'gt_frame'`` or ``'full_frame'``.
            Defaults to 'gt_frame'.
        gt_window (Sequence[int], optional): ``(top, left, full_height, full_width)`` of the GT
            in its full frame, for ``garg='full_frame'``. Defaults to None (GT = full frame).
        valid (Tensor, optional): the sample's own GT validity (``gt_valid``), bool of
            ``gt``'s size. Defaults to None.

    Returns:
        Tensor: bool mask of ``gt``'s shape.

    Raises:
        ValueError: unknown crop or convention, or ``min_depth >= max_depth``.
    """
    height, width = gt.shape[-2:]
    box = None if crop is None else crop_box(crop, height, width, eigen, garg, gt_window)
    lower = 0.0 if min_depth is None else float(min_depth)
    if max_depth is not None and math.isinf(max_depth):
        max_depth = None
    if max_depth is not None and not lower < max_depth:
        raise ValueError(f'min_depth ({min_depth}) must be below max_depth ({max_depth})')
    mask = torch.isfinite(gt) & (gt > lower)
    if max_depth is not None:
        mask &= gt < max_depth
    if box is not None:
        top, bottom, left, right = box
        region = torch.zeros((height, width), dtype=torch.bool, device=gt.device)
        region[top:bottom, left:right] = True
        mask &= region
    if valid is not None:
        mask &= valid.to(mask.device).bool().reshape(mask.shape)
    return mask


__all__ = ['CROPS', 'EIGEN_CROP_480x640', 'GARG_CROP_FRACTIONS', 'EIGEN_CONVENTIONS',
           'GARG_CONVENTIONS', 'GtWindow', 'crop_box', 'crop_convention', 'eval_mask']
