"""Data samples as a depther's ``predict`` leaves them, and a helper that runs a metric."""
import numpy as np
import torch
from mmengine.structures import PixelData

from tr2m.structures import DepthDataSample


def make_sample(pred=None, gt=None, valid=None, rel=None, dataset_name='toy', protocol=None,
                img_path='img.png', notes=None):
    """A DepthDataSample as a depther's predict() leaves it (arrays/tensors of (H, W));
    ``rel`` is its ``pred_rel_depth``."""
    metainfo = dict(dataset_name=dataset_name, img_path=img_path)
    if protocol is not None:
        metainfo['protocol'] = protocol
    if notes is not None:
        metainfo['run_notes'] = notes
    sample = DepthDataSample(metainfo=metainfo)

    def pixel(x, dtype=torch.float32):
        return PixelData(data=torch.as_tensor(np.asarray(x)).to(dtype).reshape(
            (1,) + np.asarray(x).shape[-2:]))

    gt = np.asarray(gt, dtype=np.float32)
    sample.gt_depth = pixel(gt)
    sample.gt_valid = pixel(gt > 0 if valid is None else valid, torch.bool)
    if pred is not None:
        sample.pred_depth = pixel(pred)
    if rel is not None:
        sample.pred_rel_depth = pixel(rel)
    return sample


def run_metric(metric, samples, batch_size=2, as_dict=False):
    for i in range(0, len(samples), batch_size):
        batch = samples[i:i + batch_size]
        metric.process(None, [s.to_dict() for s in batch] if as_dict else batch)
    return metric.compute_metrics(metric.results)
