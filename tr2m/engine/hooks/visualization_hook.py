"""``DepthVisualizationHook``: save image | GT | prediction panels during testing."""
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.hooks import Hook

from tr2m.registry import HOOKS


def colorize(depth: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Inverse-depth colour map (near = bright) of ``depth``; invalid (<= 0) pixels black."""
    valid = np.isfinite(depth) & (depth > 0)
    inv = np.zeros_like(depth, dtype=np.float64)
    inv[valid] = 1.0 / np.clip(depth[valid], lo, hi)
    norm = (inv - 1 / hi) / max(1 / lo - 1 / hi, 1e-12)
    img = cv2.applyColorMap((np.clip(norm, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_MAGMA)
    img[~valid] = 0
    return img


@HOOKS.register_module()
class DepthVisualizationHook(Hook):
    """Write ``<out_dir>/<image stem>.png``: RGB | GT | prediction, with a shared colour scale.

    Args:
        out_dir (str): output folder.
        interval (int): save every n-th test batch. Defaults to 1.
    """

    def __init__(self, out_dir: str, interval: int = 1) -> None:
        self.out_dir = out_dir
        self.interval = interval

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if batch_idx % self.interval or not outputs:
            return
        os.makedirs(self.out_dir, exist_ok=True)
        for sample in outputs:
            pred = sample.pred_depth.data[0].cpu().numpy()
            h, w = pred.shape
            rgb = cv2.imread(sample.img_path, cv2.IMREAD_COLOR)
            rgb = cv2.resize(rgb, (w, h)) if rgb is not None else np.zeros((h, w, 3), np.uint8)
            panels = [rgb]
            if 'gt_depth' in sample:
                gt = sample.gt_depth.data[0].cpu().numpy()
                ref = gt[gt > 0] if (gt > 0).any() else pred.ravel()
            else:
                gt, ref = None, pred.ravel()
            lo, hi = np.percentile(ref, 1), np.percentile(ref, 99)
            lo, hi = max(lo, 1e-6), max(hi, lo * 1.01)
            if gt is not None:
                panels.append(colorize(gt, lo, hi))
            panels.append(colorize(pred, lo, hi))
            stem = osp.splitext(osp.basename(sample.img_path))[0]
            name = f"{sample.metainfo.get('dataset_name', 'data')}_{batch_idx}_{stem}.png"
            cv2.imwrite(osp.join(self.out_dir, name), np.hstack(panels))
