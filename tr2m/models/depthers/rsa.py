"""RSA: a caption -> one global scale and shift for a frozen relative-depth model."""
from typing import Dict, Optional

from torch import Tensor

from tr2m.models.depthers.base import (
    BaseDepther,
    SampleList,
    affine_inverse_to_depth,
    build_module,
    relative_inverse_depth,
)
from tr2m.registry import MODELS


@MODELS.register_module()
class RSA(BaseDepther):
    """RSA (Zeng et al., NeurIPS 2024): ``D = 1 / (s * Dr + t)`` with one ``(s, t)`` per image
    predicted from the caption alone.

    A frozen CLIP text tower (RN50 in RSA) embeds the caption; :class:`GlobalScaleShiftHead`
    (shared MLP to 256, two output MLPs, positive activations) gives the scale ``s`` and shift
    ``t`` applied to the frozen relative inverse depth ``Dr``. Only the head trains.

    Loss: RSA's released training code minimises an L1 error in depth space over the valid GT
    pixels (optionally relative to the GT, or a Huber variant), so the default is
    ``L1DepthLoss``; ``loss=dict(type='L1DepthLoss', huber_delta=...)`` gives the Huber
    variant and ``loss=dict(type='SiLogLoss', lambd=...)`` the scale-invariant log loss. The
    loss is reported as ``loss_depth``; ``rsa_scale`` / ``rsa_shift`` (batch means) are
    diagnostics.

    Args:
        relative_depth (dict | nn.Module): frozen relative inverse-depth model,
            ``(images, data_samples) -> (B, 1, H, W)``; skipped when every sample carries a
            precomputed ``rel_depth``.
        text_encoder (dict | nn.Module): frozen, ``captions -> TextEmbedding``; its
            ``out_channels`` (pooled width) feeds the head.
        head (dict | nn.Module): defaults to ``GlobalScaleShiftHead``; ``in_channels``
            defaults to the text encoder's width.
        loss (dict | nn.Module): ``(pred, gt, valid) -> scalar``. Defaults to
            ``L1DepthLoss()``.
        data_preprocessor (dict, optional): defaults to ``DepthDataPreprocessor``.
    """

    def __init__(self, relative_depth, text_encoder, head: Optional[dict] = None,
                 loss: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.relative_depth = build_module(relative_depth)
        self.text_encoder = build_module(text_encoder)
        head = head if head is not None else dict(type='GlobalScaleShiftHead')
        if isinstance(head, dict):
            head = dict(head)
            head.setdefault('in_channels', self.text_encoder.out_channels)
        self.head = build_module(head)
        self.loss_depth = build_module(loss if loss is not None else dict(type='L1DepthLoss'))

    def _run(self, inputs: Tensor, data_samples: Optional[SampleList]) -> Dict[str, Tensor]:
        rel = relative_inverse_depth(self.relative_depth, inputs, data_samples)
        text = self.text_encoder(self.captions(data_samples))
        scale, shift = self.head(text.pooled.to(rel))  # (B, 1, 1, 1) each
        depth = affine_inverse_to_depth(rel, scale, shift)
        return dict(rel=rel, scale=scale, shift=shift, depth=depth)

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        return self._run(inputs, data_samples)['depth']

    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        out = self._run(inputs, data_samples)
        ones = out['rel'].new_ones(out['rel'].shape)
        return self.add_pred(data_samples, inputs.shape[0], pred_depth=out['depth'],
                             rel_depth=out['rel'], pred_scale=out['scale'] * ones,
                             pred_shift=out['shift'] * ones)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        gt, valid = self.stack_gt(inputs, data_samples)
        out = self._run(inputs, data_samples)
        return dict(loss_depth=self.loss_depth(out['depth'], gt, valid),
                    rsa_scale=out['scale'].detach().mean(),
                    rsa_shift=out['shift'].detach().mean())
