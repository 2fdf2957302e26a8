"""``ExampleConvDepther``: a tiny fully convolutional metric depther, the template's component."""
from typing import Dict, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from tr2m.models.depthers.base import BaseDepther, GroundTruth, SampleList, build_module
from tr2m.models.layers.image_ops import resize_to
from tr2m.registry import MODELS


def example_conv_depth(logits: Tensor, max_depth: float) -> Tensor:
    """Bounded metric depth ``max_depth * sigmoid(logits)``, metres, same shape as ``logits``."""
    return max_depth * torch.sigmoid(logits)


@MODELS.register_module()
class ExampleConvDepther(BaseDepther):
    """Image -> strided conv blocks -> 1x1 conv -> ``max_depth * sigmoid`` -> bilinear to the
    input size. Trains from scratch in seconds on the offline demo set; it is here to show the
    ``projects/`` convention, not to be a good model.

    Args:
        channels (Sequence[int]): width of each 3x3 stride-2 conv block (each halves the
            resolution). Defaults to (16, 32, 64).
        max_depth (float): largest predictable depth, metres. Defaults to 10.0.
        loss (dict | nn.Module, optional): ``(pred, gt, valid) -> scalar`` on the depth at the
            input size, reported as ``loss_depth``. Defaults to ``SiLogLoss()`` (tr2m core).
        soc (dict | nn.Module, optional): scale-oriented contrast on a submodule's output, e.g.
            ``dict(type='ScaleOrientedContrast', feature='encoder', in_channels=64)``; every
            depther takes it and attaches it with one line. Defaults to None.
        data_preprocessor (dict, optional): defaults to ``DepthDataPreprocessor``.
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 64), max_depth: float = 10.0,
                 loss: Optional[dict] = None, soc: Union[dict, nn.Module, None] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if max_depth <= 0:
            raise ValueError(f'max_depth must be positive (metres), got {max_depth}')
        layers, width = [], 3
        for out in channels:
            layers += [nn.Conv2d(width, out, 3, stride=2, padding=1), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True)]
            width = out
        self.encoder = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 1)
        self.max_depth = float(max_depth)
        self.loss_depth = build_module(loss if loss is not None else dict(type='SiLogLoss'))
        self.attach_soc(soc)  # last: SOC looks up the submodules it contrasts and copies

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        logits = self.head(self.encoder(inputs))  # (B, 1, H / 2^n, W / 2^n)
        return example_conv_depth(resize_to(logits, tuple(inputs.shape[-2:])), self.max_depth)

    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        return self.add_pred(data_samples, inputs.shape[0], pred_depth=self._forward(inputs))

    def loss(self, inputs: Tensor, data_samples: SampleList,
             gt: Optional[GroundTruth] = None) -> Dict[str, Tensor]:
        gt, valid = gt if gt is not None else self.stack_gt(inputs, data_samples)  # (B, 1, H, W)
        depth = self._forward(inputs)
        return dict(loss_depth=self.loss_depth(depth, gt, valid),
                    pred_mean_depth=depth.detach().mean())  # a diagnostic: no "loss" in it
