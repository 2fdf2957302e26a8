"""``PackDepthInputs``: turn a pipeline's dict into ``inputs`` and a ``DepthDataSample``."""
from typing import Sequence

import numpy as np
import torch
from mmengine.structures import PixelData

from tr2m.datasets.transforms.base import BaseTransform
from tr2m.registry import TRANSFORMS
from tr2m.structures import DepthDataSample


@TRANSFORMS.register_module()
class PackDepthInputs(BaseTransform):
    """Pack the image as a uint8 ``(3, H, W)`` tensor and everything else into a data sample.

    ``gt_depth``, ``gt_valid`` and ``rel_depth`` become ``(1, H, W)`` pixel data; ``caption``
    becomes the sample's caption; ``meta_keys`` present in the results go to its metainfo.

    Args:
        meta_keys (Sequence[str]): keys copied into the metainfo when present.
    """

    def __init__(self, meta_keys: Sequence[str] = (
            'img_path', 'depth_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
            'intrinsics', 'dataset_name', 'scene_type', 'protocol', 'run_notes', 'sample_idx',
            'caption_index', 'gt_window')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got {img.shape}: "
                             f"{results.get('img_path')}")
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        sample = DepthDataSample()
        for key in ('gt_depth', 'gt_valid', 'rel_depth'):
            if key in results:
                arr = np.ascontiguousarray(results[key])
                setattr(sample, key, PixelData(data=torch.from_numpy(arr)[None]))
        if 'caption' in results:
            sample.caption = results['caption']
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
