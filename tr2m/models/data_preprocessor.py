"""``DepthDataPreprocessor``: collate a batch into ``(B, 3, H, W)`` float images in [0, 1]."""
from typing import Optional

import torch
from mmengine.model import BaseDataPreprocessor

from tr2m.registry import MODELS

MIXED_SIZES = ('raise', 'list')


@MODELS.register_module()
class DepthDataPreprocessor(BaseDataPreprocessor):
    """Stack uint8 ``(3, H, W)`` images into float ``(B, 3, H, W)`` in [0, 1] on the device.

    No mean/std normalisation happens here: each frozen model (relative depth, image encoder)
    applies its own, and the smoothness loss needs the plain image. Images of one batch must
    share their size (use resize/crop transforms, or a same-size batch sampler for mixed data)
    unless ``mixed_sizes='list'``.

    Args:
        non_blocking (bool): non-blocking host-to-device copies. Defaults to False.
        mixed_sizes (str): what a batch of images of different sizes gives: 'raise' (an error
            naming the images) or 'list' (``inputs`` is then a list of float ``(3, H, W)``
            images, for depthers that group a step's samples themselves, e.g. ``RSA`` with
            ``PerDatasetBatchSampler``). Same-size batches are stacked either way.
            Defaults to 'raise'.
    """

    def __init__(self, non_blocking: bool = False, mixed_sizes: str = 'raise',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(non_blocking=non_blocking)
        if mixed_sizes not in MIXED_SIZES:
            raise ValueError(f'mixed_sizes must be one of {MIXED_SIZES}, got {mixed_sizes!r}')
        self.mixed_sizes = mixed_sizes

    @staticmethod
    def _to_float(x: torch.Tensor) -> torch.Tensor:
        return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) > 1 and self.mixed_sizes == 'list':
                if any(x.ndim != 3 or x.shape[0] != 3 for x in inputs):
                    raise ValueError(f'expected images of shape (3, H, W), got {sorted(shapes)}')
                return self.cast_data(dict(inputs=[self._to_float(x) for x in inputs],
                                           data_samples=samples))
            if len(shapes) > 1:
                paths = [s.metainfo.get('img_path') for s in samples or []]
                raise ValueError(f'images of one batch must share their size, got {sorted(shapes)} '
                                 f'for {paths}; add a Resize/RandomCrop to the pipeline or batch '
                                 'same-size samples together')
            inputs = torch.stack(list(inputs))
        if inputs.ndim != 4 or inputs.shape[1] != 3:
            raise ValueError(f'expected images of shape (B, 3, H, W), got {tuple(inputs.shape)}')
        inputs = inputs.float() / 255.0 if inputs.dtype == torch.uint8 else inputs.float()
        data = self.cast_data(dict(inputs=inputs, data_samples=samples))
        return data
