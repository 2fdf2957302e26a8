"""``ScaleDepth``: metric depth = scene scale x relative depth (Zhu et al. 2024).

A CLIP ConvNeXt image tower (fine-tuned) gives four feature levels; the decode head's bin
queries predict a relative depth ``R`` in a normalised space (ARDE) and its scale queries a
scene scale ``S`` (SASP), supervised by their similarity to the frozen CLIP text embeddings of
one prompt per scene category. The metric depth is ``M = S x R``. Training: the
scale-invariant loss on ``M`` plus the text-image similarity loss, at the last decoder layer
and at auxiliary layers (released: layers 2 and 5 of 9, SI weights 1/4 and 1/2).

The text encoder runs once, when the model is built: the K prompt embeddings become the
buffer ``class_embeddings`` (K, D), saved with the checkpoint, and the encoder is dropped.
"""
import os
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tr2m.models.depthers.base import BaseDepther, GroundTruth, SampleList, build_module
from tr2m.models.layers.image_ops import resize_to
from tr2m.registry import MODELS, TASK_UTILS
from tr2m.utils.errors import CheckpointError, ConfigError, MissingFileError

from .scene_categories import DEFAULT_PROMPT_TEMPLATE, SCALEDEPTH_SCENE_CLASSES, scene_prompts
from .text_image_loss import scene_accuracy

TEST_MODES = ('whole', 'slide')


def load_class_embeddings(source: Union[str, Tensor], num_classes: int) -> Tensor:
    """``(K, D)`` embeddings from a tensor or a ``.pth`` file (a tensor, or a dict holding one
    under ``class_embeddings``), e.g. the released ``nyu_kitti_class_embeddings_*.pth``."""
    if isinstance(source, Tensor):
        emb = source
    else:
        if not os.path.isfile(source):
            raise MissingFileError(f'class_embeddings file not found: {source}')
        emb = torch.load(source, map_location='cpu', weights_only=True)
        if isinstance(emb, dict):
            emb = emb.get('class_embeddings')
        if not isinstance(emb, Tensor):
            raise CheckpointError(f'{source}: expected a (K, D) tensor of class embeddings')
    if emb.ndim != 2 or emb.shape[0] != num_classes:
        raise CheckpointError(f'class embeddings have shape {tuple(emb.shape)}, expected '
                              f'({num_classes}, D) for the {num_classes} scene classes')
    return emb.float()


def slide_windows(h: int, w: int, crop: Sequence[int], stride: Sequence[int]) -> List[tuple]:
    """mmseg's sliding windows ``(y1, y2, x1, x2)``: a grid of ``stride`` steps, the last
    window of each row / column flush with the border; a crop larger than the image is the
    whole image."""
    (ch, cw), (sh, sw) = crop, stride
    rows = max(h - ch + sh - 1, 0) // sh + 1
    cols = max(w - cw + sw - 1, 0) // sw + 1
    out = []
    for r in range(rows):
        for c in range(cols):
            y2, x2 = min(r * sh + ch, h), min(c * sw + cw, w)
            out.append((max(y2 - ch, 0), y2, max(x2 - cw, 0), x2))
    return out


@MODELS.register_module()
class ScaleDepth(BaseDepther):
    """ScaleDepth (see the module docstring).

    Args:
        backbone (dict | nn.Module): image encoder returning 4 levels, finest first, with
            ``out_channels`` (:class:`CLIPConvNeXtBackbone`).
        decode_head (dict | nn.Module): :class:`ScaleDepthHead`; ``in_channels`` and
            ``text_channels`` are filled in from the backbone and the embeddings.
        text_encoder (dict | nn.Module, optional): frozen text encoder returning a
            ``TextEmbedding`` (``CLIPTextEncoder``: ``convnext_large_d_320`` for the released
            model); it encodes the prompts once. Defaults to None.
        class_embeddings (str | Tensor, optional): ``(K, D)`` embeddings to use instead of
            ``text_encoder`` (e.g. the released file). Defaults to None.
        scene_classes (Sequence[str]): the scene categories. Defaults to ScaleDepth's 28.
        extra_scene_classes (Sequence[str]): categories appended to ``scene_classes`` (a new
            domain, e.g. ``('endoscopic_scene',)``). Defaults to ().
        prompt_template (str): prompt of each category. Defaults to 'a photo of a {}.'.
        normalize_text (bool): L2-normalise the computed embeddings (CLIP's zero-shot form).
            Defaults to True.
        scene_labeler (dict): :class:`SceneCategoryLabeler` options (its ``classes`` are
            ``scene_classes``). Defaults to the released rules.
        loss_si (dict, optional): :class:`ScaleDepthSILoss`; None = its defaults (weight 10).
            Defaults to None.
        loss_ti (dict, optional): :class:`TextImageSimilarityLoss`; None = its defaults
            (weight 0.01). Defaults to None.
        aux_layers (Sequence[int]): decoder layers (0-based) supervised besides the last.
            Defaults to (2, 5).
        aux_si_weights (Sequence[float]): SI-loss factor of each auxiliary layer. Defaults to
            (0.25, 0.5).
        aux_ti_weights (Sequence[float]): similarity-loss factor of each auxiliary layer
            (released: not scaled). Defaults to (1.0, 1.0).
        test_mode (str): 'whole' image or 'slide' windows of ``crop_size`` every ``stride``
            (averaged where they overlap). Defaults to 'whole'.
        crop_size (tuple[int, int], optional): slide window ``(h, w)``. Defaults to None.
        stride (tuple[int, int], optional): slide step ``(h, w)``. Defaults to None.
        flip (bool): average with the prediction of the mirrored image (released test:
            'slide' + flip). Defaults to False.
        soc (dict | nn.Module, optional): a ``ScaleOrientedContrast`` on a submodule's output
            (see :class:`~tr2m.models.depthers.base.BaseDepther`). Defaults to None.
    """

    def __init__(self, backbone: Union[dict, nn.Module], decode_head: Union[dict, nn.Module],
                 text_encoder: Union[dict, nn.Module, None] = None,
                 class_embeddings: Union[str, Tensor, None] = None,
                 scene_classes: Sequence[str] = SCALEDEPTH_SCENE_CLASSES,
                 extra_scene_classes: Sequence[str] = (),
                 prompt_template: str = DEFAULT_PROMPT_TEMPLATE, normalize_text: bool = True,
                 scene_labeler: Optional[dict] = None,
                 loss_si: Union[dict, nn.Module, None] = None,
                 loss_ti: Union[dict, nn.Module, None] = None,
                 aux_layers: Sequence[int] = (2, 5),
                 aux_si_weights: Sequence[float] = (0.25, 0.5),
                 aux_ti_weights: Sequence[float] = (1.0, 1.0), test_mode: str = 'whole',
                 crop_size: Optional[Sequence[int]] = None,
                 stride: Optional[Sequence[int]] = None, flip: bool = False,
                 soc: Union[dict, nn.Module, None] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.scene_classes = tuple(scene_classes) + tuple(extra_scene_classes)
        self.backbone = build_module(backbone)
        self.register_buffer('class_embeddings', self._embed(
            text_encoder, class_embeddings, prompt_template, normalize_text))
        if isinstance(decode_head, dict):
            decode_head = MODELS.build(dict(decode_head, in_channels=self.backbone.out_channels,
                                            text_channels=self.class_embeddings.shape[1]))
        self.decode_head = decode_head
        labeler = dict(type='SceneCategoryLabeler', **(scene_labeler or {}))
        if 'classes' in labeler:
            raise ConfigError('scene_labeler takes its classes from scene_classes; remove '
                              'scene_labeler.classes')
        self.scene_labeler = TASK_UTILS.build(dict(labeler, classes=self.scene_classes))
        self.loss_si = build_module(loss_si or dict(type='ScaleDepthSILoss'))
        self.loss_ti = build_module(loss_ti or dict(type='TextImageSimilarityLoss'))
        num_layers = len(self.decode_head.layers)
        if not len(aux_layers) == len(aux_si_weights) == len(aux_ti_weights):
            raise ConfigError('aux_layers, aux_si_weights and aux_ti_weights must have one '
                              f'entry each, got {aux_layers}, {aux_si_weights}, {aux_ti_weights}')
        bad = [i for i in aux_layers if not 0 <= i < num_layers - 1]
        if bad:
            raise ConfigError(f'aux_layers {bad} outside [0, {num_layers - 1}) for a '
                              f'{num_layers}-layer decoder (the last layer is always supervised)')
        self.aux = list(zip(aux_layers, aux_si_weights, aux_ti_weights))
        if test_mode not in TEST_MODES:
            raise ConfigError(f'test_mode must be one of {TEST_MODES}, got {test_mode!r}')
        if test_mode == 'slide' and (crop_size is None or stride is None):
            raise ConfigError("test_mode='slide' needs crop_size and stride")
        self.test_mode, self.crop_size, self.stride, self.flip = (
            test_mode, crop_size, stride, flip)
        self.attach_soc(soc)

    def _embed(self, text_encoder, class_embeddings, template: str, normalize: bool) -> Tensor:
        k = len(self.scene_classes)
        if class_embeddings is not None:
            return load_class_embeddings(class_embeddings, k)
        if text_encoder is None:
            raise ConfigError('ScaleDepth needs text_encoder or class_embeddings for the scene '
                              'prompts')
        encoder = build_module(text_encoder)  # used once here, not kept
        weight = next(encoder.parameters(), None)
        if weight is not None and weight.is_meta:  # built on the meta device (parameter counts)
            return torch.empty(k, encoder.out_channels, device='meta')
        with torch.no_grad():
            emb = encoder(scene_prompts(self.scene_classes, template)).pooled.float()
        return F.normalize(emb, dim=-1) if normalize else emb

    # ---- forward paths ---------------------------------------------------------------------
    def decode(self, inputs: Tensor):
        """Per-layer outputs (:class:`ScaleDepthOutputs`) for ``(B, 3, H, W)`` images."""
        return self.decode_head(self.backbone(inputs), self.class_embeddings)

    @staticmethod
    def metric_depth(rel: Tensor, scale: Tensor, size) -> Tensor:
        """``M = S x R`` with ``R`` resized (bilinear) to ``size``: ``(B, 1, *size)``."""
        return resize_to(rel, tuple(size)) * scale.view(-1, 1, 1, 1)

    def loss(self, inputs: Tensor, data_samples: SampleList,
             gt: Optional[GroundTruth] = None) -> Dict[str, Tensor]:
        gt, valid = gt if gt is not None else self.stack_gt(inputs, data_samples)
        out = self.decode(inputs)
        labels = torch.tensor(self.scene_labeler(data_samples), dtype=torch.long,
                              device=inputs.device)
        last = len(out.rel_depth) - 1
        losses = {}
        for idx, w_si, w_ti in [*self.aux, (last, 1.0, 1.0)]:
            tag = '' if idx == last else f'_aux{idx}'
            depth = self.metric_depth(out.rel_depth[idx], out.scale[idx], gt.shape[-2:])
            losses['loss_si' + tag] = w_si * self.loss_si(depth, gt, valid)
            losses['loss_ti' + tag] = w_ti * self.loss_ti(out.scene_logits[idx], labels)
        acc = scene_accuracy(out.scene_logits[last], labels)
        if acc is not None:
            losses['scene_acc'] = acc
        losses['scene_labelled_frac'] = (labels >= 0).float().mean()
        losses['scene_scale'] = out.scale[last].detach().mean()
        return losses

    def _single(self, inputs: Tensor) -> Tensor:
        out = self.decode(inputs)
        depth = self.metric_depth(out.rel_depth[-1], out.scale[-1], inputs.shape[-2:])
        if self.flip:
            out = self.decode(inputs.flip(-1))
            flipped = self.metric_depth(out.rel_depth[-1], out.scale[-1], inputs.shape[-2:])
            depth = 0.5 * (depth + flipped.flip(-1))
        return depth

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        if self.test_mode == 'whole':
            return self._single(inputs)
        if self.test_mode == 'slide':
            h, w = inputs.shape[-2:]
            depth = inputs.new_zeros(inputs.shape[0], 1, h, w)
            count = inputs.new_zeros(1, 1, h, w)
            for y1, y2, x1, x2 in slide_windows(h, w, self.crop_size, self.stride):
                depth[..., y1:y2, x1:x2] += self._single(inputs[..., y1:y2, x1:x2])
                count[..., y1:y2, x1:x2] += 1
            return depth / count
        raise ValueError(f'unknown test_mode {self.test_mode!r}')

    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        depth = self._forward(inputs, data_samples)
        return self.add_pred(data_samples, inputs.shape[0], pred_depth=depth)
