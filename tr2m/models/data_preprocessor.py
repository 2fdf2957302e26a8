"""``DepthDataPreprocessor``: collate a batch into ``(B, 3, H, W)`` float images in [0, 1].

The images travel to the device as uint8 (a quarter of float32's bytes, from pinned memory when
the loader pins it) and become float there: on a GPU the conversion is free, where on the CPU of
the main process it cost 21-74 ms per batch of 8 at 476 x 644.
"""
from typing import Optional

import torch
from mmengine.model import BaseDataPreprocessor

from tr2m.registry import MODELS

MIXED_SIZES = ('raise', 'list')


@MODELS.register_module()
class DepthDataPreprocessor(BaseDataPreprocessor):
    """Stack uint8 ``(3, H, W)`` images into float ``(B, 3, H, W)`` in [0, 1] on the device.

    The uint8 images are copied to the device first (one copy per image, asynchronous from
    pinned memory), then stacked and converted there; the values equal a conversion on the CPU.

    No mean/std normalisation happens here: each frozen model (relative depth, image encoder)
    applies its own, and the smoothness loss needs the plain image. Images of one batch must
    share their size (use resize/crop transforms, or a same-size batch sampler for mixed data)
    unless ``mixed_sizes='list'``.

    Args:
        non_blocking (bool): non-blocking host-to-device copies (asynchronous when the loader
            pins memory, ``pin_memory=True``; the same as blocking ones otherwise). Defaults
            to True.
        mixed_sizes (str): what a batch of images of different sizes gives: 'raise' (an error
            naming the images) or 'list' (``inputs`` is then a list of float ``(3, H, W)``
            images, for depthers that group a step's samples themselves, e.g. ``RSA`` with
            ``PerDatasetBatchSampler``). Same-size batches are stacked either way.
            Defaults to 'raise'.
    """

    def __init__(self, non_blocking: bool = True, mixed_sizes: str = 'raise',
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
                data = self.cast_data(dict(inputs=list(inputs), data_samples=samples))
                return dict(inputs=[self._to_float(x) for x in data['inputs']],
                            data_samples=data['data_samples'])
            if len(shapes) > 1:
                paths = [s.metainfo.get('img_path') for s in samples or []]
                raise ValueError(f'images of one batch must share their size, got {sorted(shapes)} '
                                 f'for {paths}; add a Resize/RandomCrop to the pipeline or batch '
                                 'same-size samples together')
            if any(x.ndim != 3 or x.shape[0] != 3 for x in inputs):
                raise ValueError(f'expected images of shape (B, 3, H, W), got '
                                 f'({len(inputs)}, {", ".join(map(str, next(iter(shapes))))})')
            # each (pinned) image to the device as it is, stacked there
            data = self.cast_data(dict(inputs=list(inputs), data_samples=samples))
            inputs = torch.stack(data['inputs'])
        else:
            if inputs.ndim != 4 or inputs.shape[1] != 3:
                raise ValueError(f'expected images of shape (B, 3, H, W), got '
                                 f'{tuple(inputs.shape)}')
            data = self.cast_data(dict(inputs=inputs, data_samples=samples))
            inputs = data['inputs']
        return dict(inputs=self._to_float(inputs), data_samples=data['data_samples'])
