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


def padded_positions(sampler, count: int) -> set:
    """Which of this rank's first ``count`` samples are a distributed sampler's padding.

    mmengine's ``DefaultSampler`` (unshuffled) pads the index list to ``total_size`` by repeating
    its head and gives rank ``r`` the positions ``r, r + world, ...``; a position past the
    dataset's end is a duplicate of an image another rank (or this one) already has.
    """
    world = getattr(sampler, 'world_size', 1)
    size = len(getattr(sampler, 'dataset', ()))
    if world <= 1 or not size or getattr(sampler, 'shuffle', False):
        return set()
    rank = getattr(sampler, 'rank', 0)
    return {j for j in range(count) if rank + j * world >= size}


@HOOKS.register_module()
class DepthVisualizationHook(Hook):
    """Write ``<out_dir>/<dataset>_<sample index>_<image stem>.png``: RGB | GT | prediction, with
    a shared colour scale.

    In a distributed test each rank writes the images it evaluated and skips the sampler's
    padding, so every image is written exactly once, under the same name as in a
    single-process run (the name holds the dataset index, not the batch index).

    Args:
        out_dir (str): output folder.
        interval (int): save every n-th test batch. Defaults to 1.
    """

    def __init__(self, out_dir: str, interval: int = 1) -> None:
        self.out_dir = out_dir
        self.interval = interval
        self._seen = 0

    def before_test(self, runner) -> None:
        self._seen = 0

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        start, self._seen = self._seen, self._seen + len(outputs or [])
        if batch_idx % self.interval or not outputs:
            return
        loader = getattr(runner, 'test_dataloader', None)
        padding = padded_positions(getattr(loader, 'sampler', None), self._seen)
        os.makedirs(self.out_dir, exist_ok=True)
        for j, sample in enumerate(outputs, start):
            if j in padding:
                continue
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
            index = sample.metainfo.get('sample_idx')
            index = f'{index:05d}' if isinstance(index, int) else f'b{batch_idx}'
            name = f"{sample.metainfo.get('dataset_name', 'data')}_{index}_{stem}.png"
            cv2.imwrite(osp.join(self.out_dir, name), np.hstack(panels))
