"""``NeWCRFs``: Yuan et al., "Neural Window Fully-connected CRFs for Monocular Depth
Estimation", CVPR 2022, as released in ``aliyun/NeWCRFs`` (understood and rewritten here).

Images -> Swin backbone (four stages) -> PPM on the top stage -> four neural-window FC-CRF
stages from 1/32 to 1/4 (pixel shuffle between them) -> ``sigmoid`` disparity head, upsampled
x4 -> ``depth = max_depth * disp``. Trained with the released SI-log loss; evaluated with the
released flip test-time augmentation (``post_process_depth``).
"""
from typing import Dict, Optional, Union

import torch
from torch import Tensor, nn

from tr2m.models.depthers.base import BaseDepther, GroundTruth, SampleList, build_module
from tr2m.registry import MODELS

#: ``arch -> (backbone arch of NeWCRFsSwin, NeWCRFsHead keyword arguments)``. The released
#: ``--encoder`` versions share one decoder: widths 128-1024, heads 4-32, PPM 512.
RELEASED_HEAD = dict(dims=(128, 256, 512, 1024), num_heads=(4, 8, 16, 32), window=7,
                     psp_channels=512, branch_norm_groups=256)
NEWCRFS_PRESETS = {
    'large07': ('swin_l_w7', RELEASED_HEAD),  # the released models (NYUv2 and KITTI)
    'large12': ('swin_l_w12', RELEASED_HEAD),
    'base07': ('swin_b_w7', RELEASED_HEAD),
    'tiny07': ('swin_t_w7', RELEASED_HEAD),
    # toy presets (random weights): CPU tests, the offline demo
    'toy': ('swin_toy', dict(dims=(16, 32, 64, 128), num_heads=(1, 2, 4, 8), window=7,
                             psp_channels=32, branch_norm_groups=8)),
    'mini': ('swin_mini', dict(dims=(32, 64, 128, 256), num_heads=(1, 2, 4, 8), window=7,
                               psp_channels=64, branch_norm_groups=16)),
}


def flip_fuse(depth: Tensor, depth_flipped: Tensor) -> Tensor:
    """Fuse a prediction with the prediction of the mirrored image (released
    ``post_process_depth``): their mean in the middle, and within 5% of the width (ramping
    over the next 5%) of each border, the prediction whose view had that border on the inside
    (the mirrored one at the left border, the direct one at the right).

    Args:
        depth (Tensor): ``(B, 1, H, W)`` of the image.
        depth_flipped (Tensor): ``(B, 1, H, W)`` of the mirrored image (not flipped back).
    """
    back = depth_flipped.flip(-1)
    w = depth.shape[-1]
    xs = torch.linspace(0.0, 1.0, w, device=depth.device, dtype=depth.dtype)
    left = 1.0 - (20.0 * (xs - 0.05)).clamp(0.0, 1.0)  # 1 near the left border
    right = left.flip(-1)
    return right * depth + left * back + (1.0 - left - right) * 0.5 * (depth + back)


@MODELS.register_module()
class NeWCRFs(BaseDepther):
    """NeWCRFs: metric depth in ``(0, max_depth)`` from one image.

    Module tree (names for hooks; shapes for a ``H x W`` input, a multiple of 32):
    ``backbone`` (:class:`NeWCRFsSwin`, four features) -> ``decode_head`` (:class:`NeWCRFsHead`):
    ``decode_head.psp`` ``(B, 512, H/32, W/32)``, ``decode_head.crf_blocks.3`` ``(B, 1024,
    H/32, W/32)``, ``.2`` ``(B, 512, H/16, W/16)``, ``.1`` ``(B, 256, H/8, W/8)``, ``.0``
    ``(B, 128, H/4, W/4)``, ``decode_head.disp_head`` ``(B, 1, H, W)``. Inputs of other sizes
    are padded to a multiple of 32 (the features are then at the padded size) and the depth is
    cropped back.

    Args:
        arch (str): a key of :data:`NEWCRFS_PRESETS`. Defaults to 'large07' (released).
        pretrained (str, optional): backbone weights, see :class:`NeWCRFsSwin` (``'default'``:
            Swin ImageNet-22k weights through timm; None: random). Defaults to 'default'.
        max_depth (float): metres; 10 for NYUv2, 80 for KITTI (released).
        backbone (dict | nn.Module, optional): a dict merged over the preset's backbone
            config (e.g. ``dict(forward_mode='timm')``), or a built backbone with
            ``out_channels``. Defaults to None.
        decode_head (dict | nn.Module, optional): a dict merged over the preset's head config
            (e.g. ``dict(upsample='mask')``), or a built head. Defaults to None.
        loss (dict | nn.Module, optional): ``(depth, gt, valid) -> scalar``, reported as
            ``loss_silog``. Defaults to ``NeWCRFsSiLogLoss()`` (0.85, GT > 0.1 m).
        flip_test (bool): fuse the prediction of the mirrored image in ``predict``, as the
            released evaluation does. Defaults to True.
        soc (dict | nn.Module, optional): a ``ScaleOrientedContrast`` on one of the modules
            above (``projects/newcrfs_soc``: ``feature='decode_head.crf_blocks.0'``).
            Defaults to None.
        data_preprocessor (dict, optional): defaults to ``DepthDataPreprocessor``.
    """

    @staticmethod
    def tiny_arch(arch: str) -> str:
        """The toy preset standing in for any preset in CPU tests."""
        return 'toy'

    def __init__(self, arch: str = 'large07', pretrained: Optional[str] = 'default',
                 max_depth: float = 10.0, backbone: Union[dict, nn.Module, None] = None,
                 decode_head: Union[dict, nn.Module, None] = None,
                 loss: Union[dict, nn.Module, None] = None, flip_test: bool = True,
                 soc: Union[dict, nn.Module, None] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if arch not in NEWCRFS_PRESETS:
            raise KeyError(f'unknown NeWCRFs arch {arch!r}; known: {sorted(NEWCRFS_PRESETS)}')
        if not max_depth > 0:
            raise ValueError(f'max_depth must be positive (metres), got {max_depth}')
        backbone_arch, head_kwargs = NEWCRFS_PRESETS[arch]
        self.arch, self.max_depth, self.flip_test = arch, float(max_depth), flip_test
        if not isinstance(backbone, nn.Module):
            backbone = dict(type='NeWCRFsSwin', arch=backbone_arch, pretrained=pretrained,
                            **(backbone or {}))
        self.backbone = build_module(backbone)
        if not isinstance(decode_head, nn.Module):
            decode_head = dict(type='NeWCRFsHead', in_channels=self.backbone.out_channels,
                               **head_kwargs, **(decode_head or {}))
        self.decode_head = build_module(decode_head)
        self.loss_depth = build_module(loss if loss is not None
                                       else dict(type='NeWCRFsSiLogLoss'))
        self.attach_soc(soc)

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        """Metric depth ``(B, 1, H, W)`` at the input size."""
        h, w = inputs.shape[-2:]
        disp = self.decode_head(self.backbone(inputs))  # (B, 1, Hp, Wp) in (0, 1)
        return self.max_depth * disp[..., :h, :w]

    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        depth = self._forward(inputs)
        if self.flip_test:
            depth = flip_fuse(depth, self._forward(inputs.flip(-1)))
        return self.add_pred(data_samples, inputs.shape[0], pred_depth=depth)

    def loss(self, inputs: Tensor, data_samples: SampleList,
             gt: Optional[GroundTruth] = None) -> Dict[str, Tensor]:
        gt, valid = gt if gt is not None else self.stack_gt(inputs, data_samples)  # (B, 1, H, W)
        return dict(loss_silog=self.loss_depth(self._forward(inputs), gt, valid))
