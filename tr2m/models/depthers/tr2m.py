"""TR2M: relative inverse depth + image + caption -> pixel-wise scale and shift -> metric depth."""
import copy
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from tr2m.models.depthers.base import (
    BaseDepther,
    SampleList,
    affine_inverse_to_depth,
    build_module,
    relative_inverse_depth,
)
from tr2m.registry import MODELS


@MODELS.register_module()
class TR2M(BaseDepther):
    """TR2M (Cui et al.): ``D_hat = 1 / (A * Dr + B)`` (eq. 3).

    A frozen relative-depth model gives ``Dr``; a frozen image encoder and a frozen text encoder
    feed the cross-modality attention neck; two :class:`RescaleHead` decoders predict the
    positive scale map ``A`` and shift map ``B``. Trained with ``L = 1.0 L_si + 0.5 L_tp-si +
    0.1 L_soc + 0.01 L_es`` (each switchable off with None, for the Table 4 ablations).

    Args:
        relative_depth (dict | nn.Module): frozen relative inverse-depth model,
            ``(images, data_samples) -> (B, 1, H, W)``. Skipped when every sample carries a
            precomputed ``rel_depth``.
        image_encoder (dict | nn.Module): frozen, ``images -> (B, D, h, w)`` (it also gives the
            attention queries, so every variant needs it).
        text_encoder (dict | nn.Module, optional): frozen, ``captions -> TextEmbedding``; None
            for image-only models.
        neck (dict | nn.Module): fusion, ``(img_feats, text) -> (B, D, h, w)``. Its
            ``in_channels``/``text_channels`` default to the encoders' widths.
        scale_head, shift_head (dict | nn.Module): :class:`RescaleHead` configs; None for
            ``shift_head`` fixes ``B = 0`` and None for ``scale_head`` fixes ``A = 1`` (the
            Table 11 ablations). ``in_channels`` defaults to the neck's width.
        loss_silog (dict): SI-log loss (eq. 4). Defaults to ``SiLogLoss(lambd=0.15)``.
        loss_pseudo (dict, optional): thresholded pseudo-depth loss (eq. 5-6).
        loss_soc (dict, optional): scale-oriented contrastive loss (eq. 7-8); builds the
            projector and its momentum (EMA) copy.
        loss_smooth (dict, optional): edge-aware smoothness on ``A`` and ``B``.
        soc_projector (dict): projector config. Defaults to ``SOCProjector``.
        momentum (float): EMA momentum of the contrastive key branch. Defaults to 0.999.
        data_preprocessor (dict, optional): defaults to ``DepthDataPreprocessor``.
    """

    def __init__(self, relative_depth, image_encoder, neck, scale_head=None, shift_head=None,
                 text_encoder=None, loss_silog: Optional[dict] = None,
                 loss_pseudo: Optional[dict] = None, loss_soc: Optional[dict] = None,
                 loss_smooth: Optional[dict] = None, soc_projector: Optional[dict] = None,
                 momentum: float = 0.999, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if scale_head is None and shift_head is None:
            raise ValueError('TR2M needs at least one of scale_head and shift_head')
        self.relative_depth = build_module(relative_depth)
        self.image_encoder = build_module(image_encoder)
        self.text_encoder = build_module(text_encoder)
        text_channels = getattr(self.text_encoder, 'out_channels', None)
        if isinstance(neck, dict) and neck.get('text_tokens') == 'all':
            # attending over every token: the per-token width, not the pooled one
            text_channels = getattr(self.text_encoder, 'token_channels', text_channels)
        self.neck = build_module(self._fill_channels(
            neck, in_channels=self.image_encoder.out_channels, text_channels=text_channels))
        if 'text' in getattr(self.neck, 'modalities', ()) and self.text_encoder is None:
            raise ValueError('the neck uses text but TR2M has no text_encoder')
        width = self.neck.out_channels
        self.scale_head = build_module(self._fill_channels(scale_head, in_channels=width))
        self.shift_head = build_module(self._fill_channels(shift_head, in_channels=width))
        self.loss_silog = build_module(loss_silog or dict(type='SiLogLoss', lambd=0.15))
        self.loss_pseudo = build_module(loss_pseudo)
        self.loss_smooth = build_module(loss_smooth)
        self.loss_soc = build_module(loss_soc)
        self.momentum = momentum
        if self.loss_soc is not None:
            self.soc_projector = build_module(self._fill_channels(
                soc_projector or dict(type='SOCProjector'), in_channels=width))
            # Momentum (key) branch: EMA copies of the neck and the projector, never trained.
            self.momentum_neck = copy.deepcopy(self.neck).requires_grad_(False)
            self.momentum_projector = copy.deepcopy(self.soc_projector).requires_grad_(False)

    @staticmethod
    def _fill_channels(cfg, **defaults):
        if not isinstance(cfg, dict):
            return cfg
        cfg = dict(cfg)
        for key, value in defaults.items():
            if value is not None:
                cfg.setdefault(key, value)
        return cfg

    # ---- shared forward ----------------------------------------------------------------
    def relative(self, inputs: Tensor, data_samples: Optional[SampleList]) -> Tensor:
        """``Dr`` ``(B, 1, H, W)``: precomputed by the pipeline, else from the frozen model."""
        return relative_inverse_depth(self.relative_depth, inputs, data_samples)

    def encode(self, inputs: Tensor, data_samples: Optional[SampleList]):
        """Frozen image tokens ``(B, D, h, w)`` and caption embedding (or None)."""
        with torch.no_grad():
            img_feats = self.image_encoder(inputs)
            text = None
            if self.text_encoder is not None:
                text = self.text_encoder(self.captions(data_samples))
        return img_feats, text

    def rescale_maps(self, feats: Tensor, size: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """Scale map ``A`` and shift map ``B`` ``(B, 1, H, W)`` from fused features."""
        ones = feats.new_ones(feats.shape[0], 1, *size)
        scale = self.scale_head(feats, size) if self.scale_head is not None else ones
        shift = self.shift_head(feats, size) if self.shift_head is not None else ones * 0
        return scale, shift

    @staticmethod
    def to_metric(rel: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
        """Eq. 3: ``1 / (A * Dr + B)``."""
        return affine_inverse_to_depth(rel, scale, shift)

    def _run(self, inputs: Tensor, data_samples: Optional[SampleList]) -> Dict[str, Tensor]:
        rel = self.relative(inputs, data_samples)
        img_feats, text = self.encode(inputs, data_samples)
        feats = self.neck(img_feats, text)
        scale, shift = self.rescale_maps(feats, tuple(inputs.shape[-2:]))
        return dict(rel=rel, img_feats=img_feats, text=text, feats=feats, scale=scale,
                    shift=shift, depth=self.to_metric(rel, scale, shift))

    # ---- modes ---------------------------------------------------------------------------
    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        return self._run(inputs, data_samples)['depth']

    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        out = self._run(inputs, data_samples)
        return self.add_pred(data_samples, inputs.shape[0], pred_depth=out['depth'],
                             rel_depth=out['rel'], pred_scale=out['scale'],
                             pred_shift=out['shift'])

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        gt, valid = self.stack_gt(inputs, data_samples)
        out = self._run(inputs, data_samples)
        losses = dict(loss_silog=self.loss_silog(out['depth'], gt, valid))
        losses['nonpos_denom_px'] = affine_inverse_to_depth(  # pixels clamped to 1e8 (counted)
            out['rel'], out['scale'], out['shift'], return_nonpositive=True)[1].float()
        if self.loss_pseudo is not None:
            loss, pass_frac = self.loss_pseudo(out['depth'], out['rel'], gt, valid)
            losses.update(loss_pseudo=loss, pseudo_pass_frac=pass_frac.detach())
        if self.loss_smooth is not None:
            losses['loss_smooth'] = (self.loss_smooth(out['scale'], inputs)
                                     + self.loss_smooth(out['shift'], inputs))
        if self.loss_soc is not None:
            losses.update(self._soc(out, gt, valid))
        return losses

    def _soc(self, out: Dict[str, Tensor], gt: Tensor, valid: Tensor) -> Dict[str, Tensor]:
        from tr2m.models.losses import depth_classes, downsample_depth

        q = self.soc_projector(out['feats'])  # (B, E, h', w')
        with torch.no_grad():
            k = self.momentum_projector(self.momentum_neck(out['img_feats'], out['text']))
        keys = torch.stack([k, k.roll(1, 0)], 1)  # same images, and the batch rolled by one
        depth_small, valid_small = downsample_depth(gt, valid, tuple(q.shape[-2:]))
        cls = depth_classes(depth_small, valid_small, self.loss_soc.num_classes)[:, 0]
        key_cls = torch.stack([cls, cls.roll(1, 0)], 1)
        loss, pos_frac = self.loss_soc(q, keys, cls, key_cls)
        return dict(loss_soc=loss, soc_pos_frac=pos_frac.detach())

    # ---- momentum branch -----------------------------------------------------------------
    @torch.no_grad()
    def momentum_update(self) -> None:
        """EMA step of the key branch: ``k = m * k + (1 - m) * q`` (after each optimizer step)."""
        if self.loss_soc is None:
            return
        m = self.momentum
        for query, key in ((self.neck, self.momentum_neck),
                           (self.soc_projector, self.momentum_projector)):
            for p_q, p_k in zip(query.parameters(), key.parameters()):
                p_k.mul_(m).add_(p_q.detach(), alpha=1 - m)

    def train(self, mode: bool = True) -> 'TR2M':
        super().train(mode)
        for frozen in (getattr(self, 'momentum_neck', None),
                       getattr(self, 'momentum_projector', None)):
            if isinstance(frozen, nn.Module):
                frozen.train(False)
        return self
