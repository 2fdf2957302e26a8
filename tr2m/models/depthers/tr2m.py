"""TR2M: relative inverse depth + image + caption -> pixel-wise scale and shift -> metric depth."""
from contextlib import contextmanager
from typing import Dict, NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from tr2m.functional import affine_inverse_to_depth
from tr2m.models.depthers.base import (
    BaseDepther,
    GroundTruth,
    SampleList,
    build_module,
    relative_inverse_depth,
)
from tr2m.models.encoders.text_base import TextEmbedding
from tr2m.models.layers.image_ops import dead_fraction, map_activation
from tr2m.registry import MODELS

#: How the shift head's output ``b`` becomes the shift map ``B`` (see ``TR2M`` ``shift_form``).
SHIFT_FORMS = ('absolute', 'relative')

#: Salt of the seed the frozen components are built with (see :func:`frozen_build_rng`).
FROZEN_SEED_SALT = 0x9E3779B97F4A7C15


@contextmanager
def frozen_build_rng():
    """Build frozen components on a forked CPU RNG, seeded from ``torch.initial_seed()``.

    The trainable parts then start from the same RNG state whatever the frozen components are:
    a run that reads the frozen outputs from the feature cache (whose readers stand in for the
    frozen models) initialises the neck and heads exactly as a run that computes them. Random
    frozen weights (tests, the demo) depend only on the seed, so the cache tool rebuilds the
    very weights training uses.
    """
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(
            (torch.initial_seed() ^ FROZEN_SEED_SALT) & (2**63 - 1))
        yield


class FrozenFeatures(NamedTuple):
    """What TR2M's frozen models give for a batch (the same in every epoch).

    Attributes:
        rel (Tensor): relative inverse depth ``Dr`` ``(B, 1, H, W)``.
        img_feats (Tensor): image tokens ``(B, D, h, w)``.
        text (TextEmbedding, optional): caption embedding, or None without a text encoder.
    """

    rel: Tensor
    img_feats: Tensor
    text: Optional[TextEmbedding]


@MODELS.register_module()
class TR2M(BaseDepther):
    """TR2M (Cui et al.): ``D_hat = 1 / (A * Dr + B)`` (eq. 3).

    A frozen relative-depth model gives ``Dr``; a frozen image encoder and a frozen text encoder
    feed the cross-modality attention neck; two :class:`RescaleHead` decoders predict the
    positive scale map ``A`` and shift map ``B``. Trained with ``L = 1.0 L_si + 0.5 L_tp-si +
    0.1 L_soc + 0.01 L_es`` (each switchable off with None, for the Table 4 ablations).
    ``L_soc`` is the ``soc`` component (``ScaleOrientedContrast(feature='neck')``): it
    contrasts the neck's output and keeps the EMA copy of the neck; the frozen encoders run
    once per step (the call graph: :class:`~tr2m.models.depthers.base.BaseDepther`).

    The frozen components have one contract whether they compute or read their outputs (the
    feature cache replaces them by the readers of :mod:`tr2m.cache.readers`, which report the
    encoder widths from the cache's metadata; a sample the cache does not hold is an error).

    Shared tokens (``image_tokens='relative_depth'``, ``image_encoder=None``): the neck reads
    the relative-depth model's own encoder tokens (Depth Anything's DINOv2: ViT-S for DA-S,
    ViT-L for DA-L), from the forward that gives ``Dr``, projected by a learnt 1x1 convolution
    to ``token_channels``; no second ViT is built (``configs/tr2m/tr2m_da_s_shared_tokens.py``).
    The feature cache then stores the relative model's tokens (before the projection, which
    trains).

    Args:
        relative_depth (dict | nn.Module): frozen relative inverse-depth model,
            ``(images, data_samples) -> (B, 1, H, W)``. Skipped when every sample carries a
            precomputed ``rel_depth``.
        image_encoder (dict | nn.Module, optional): frozen, ``(images, data_samples) ->
            (B, D, h, w)`` (it also gives the attention queries); None with
            ``image_tokens='relative_depth'``.
        text_encoder (dict | nn.Module, optional): frozen, ``captions -> TextEmbedding``; None
            for image-only models.
        neck (dict | nn.Module): fusion, ``(img_feats, text) -> (B, D, h, w)``. Its
            ``in_channels``/``text_channels`` default to the encoders' widths.
        scale_head, shift_head (dict | nn.Module): :class:`RescaleHead` configs; None for
            ``shift_head`` fixes ``B = 0`` and None for ``scale_head`` fixes ``A = 1`` (the
            Table 11 ablations). ``in_channels`` defaults to the neck's width. The shift head
            may be ``activation='signed'`` (``B`` of either sign; the denominator is kept
            positive by the floor of :func:`~tr2m.functional.affine_inverse_to_depth`, its hits
            logged as ``nonpos_denom_px``); the scale head must stay positive.
        shift_form (str): ``'absolute'`` (``B = b``, the shift head's map, the paper's eq. 3)
            or ``'relative'`` (``B = A * b``: ``D = 1 / (A * (Dr + b))``, the shift in the
            units of ``Dr``, so its gradient scales with ``A``). Defaults to 'absolute'.
            The options and their measurement on the demo set: docs/results.md, "Shift map".
        loss_silog (dict): SI-log loss (eq. 4). Defaults to ``SiLogLoss()``.
        loss_pseudo (dict, optional): thresholded pseudo-depth loss (eq. 5-6); its depth cap
            defaults to each sample's protocol ``max_depth``, and its SI-log form (``form``,
            ``lambd``, ``beta``, ``reduction``) to ``loss_silog``'s when the config sets none.
        loss_smooth (dict, optional): edge-aware smoothness on ``A`` and ``B``.
        monitor_maps (bool): in training, log ``scale_dead_frac`` / ``shift_dead_frac``: the
            fraction of pixels whose slope ``d map / d pre-activation`` is below 1e-6
            (:func:`~tr2m.models.layers.image_ops.dead_fraction`; 1 = a map that passes no
            gradient back, e.g. a softplus shift sitting on its 1e-9 floor), and
            ``denom_dead_frac``: the fraction whose denominator ``A * Dr + B`` is below the
            floor of eq. 3 (no gradient to either map there; a signed shift's dead zone).
            ``DeadMapHook`` warns once per run when one stays dead. Defaults to True.
        soc (dict | nn.Module, optional): scale-oriented contrast (eq. 7-8),
            ``dict(type='ScaleOrientedContrast', feature='neck', ...)``; None trains without
            ``L_soc``. Defaults to None (the configs set it).
        data_preprocessor (dict, optional): defaults to ``DepthDataPreprocessor``.
        image_tokens (str): where the neck's image tokens come from: ``'encoder'`` (the
            ``image_encoder``, the paper) or ``'relative_depth'`` (the relative-depth model's
            encoder, ``forward_with_tokens``; ``image_encoder`` must be None).
            Defaults to 'encoder'.
        token_channels (int, optional): width of a learnt 1x1 projection of the image tokens
            (the neck's input width); None feeds the tokens as they are. Defaults to None.
    """

    IMAGE_TOKENS = ('encoder', 'relative_depth')

    def __init__(self, relative_depth, image_encoder, neck, scale_head=None, shift_head=None,
                 text_encoder=None, loss_silog: Optional[dict] = None,
                 loss_pseudo: Optional[dict] = None, loss_smooth: Optional[dict] = None,
                 soc: Union[dict, nn.Module, None] = None, shift_form: str = 'absolute',
                 monitor_maps: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 image_tokens: str = 'encoder', token_channels: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if scale_head is None and shift_head is None:
            raise ValueError('TR2M needs at least one of scale_head and shift_head')
        if image_tokens not in self.IMAGE_TOKENS:
            raise ValueError(f'TR2M image_tokens must be one of {self.IMAGE_TOKENS}, '
                             f'got {image_tokens!r}')
        if image_tokens == 'relative_depth' and image_encoder is not None:
            raise ValueError("TR2M image_tokens='relative_depth' reads the relative-depth "
                             'model\'s tokens: set image_encoder=None (no second ViT)')
        if image_tokens == 'encoder' and image_encoder is None:
            raise ValueError("TR2M needs an image_encoder (or image_tokens='relative_depth')")
        self.image_tokens = image_tokens
        with frozen_build_rng():
            self.relative_depth = build_module(relative_depth)
            self.image_encoder = build_module(image_encoder)
            self.text_encoder = build_module(text_encoder)
        if image_tokens == 'relative_depth':
            image_width = getattr(self.relative_depth, 'token_channels', None)
            if image_width is None:
                raise ValueError(f"TR2M image_tokens='relative_depth': the relative-depth model "
                                 f'{type(self.relative_depth).__name__} gives no tokens (Depth '
                                 'Anything presets do)')
        else:
            image_width = self.image_encoder.out_channels
        # learnt, after the frozen models: the cache stores the tokens before it
        self.token_proj = (nn.Conv2d(image_width, int(token_channels), 1)
                           if token_channels else None)
        widths = dict(image=image_width,
                      text=getattr(self.text_encoder, 'out_channels', None),
                      text_tokens=getattr(self.text_encoder, 'token_channels', None))
        self.frozen_widths = widths
        text_channels = widths['text']
        if isinstance(neck, dict) and neck.get('text_tokens') == 'all':
            # attending over every token: the per-token width, not the pooled one
            text_channels = widths['text_tokens'] or text_channels
        self.neck = build_module(self._fill_channels(
            neck, in_channels=token_channels or widths['image'], text_channels=text_channels))
        uses_text = 'text' in getattr(self.neck, 'modalities', ())
        if uses_text and widths['text'] is None:
            raise ValueError('the neck uses text but TR2M has no text_encoder')
        wants_tokens = uses_text and getattr(self.neck, 'text_tokens', 'pooled') == 'all'
        if self.text_encoder is not None and hasattr(self.text_encoder, 'keep_tokens'):
            self.text_encoder.keep_tokens = wants_tokens  # pooled-only captions otherwise
        width = self.neck.out_channels
        self.scale_head = build_module(self._fill_channels(scale_head, in_channels=width))
        self.shift_head = build_module(self._fill_channels(shift_head, in_channels=width))
        if getattr(self.scale_head, 'activation', None) == 'signed':
            raise ValueError("TR2M: scale_head activation 'signed' would let A flip the depth "
                             "order; use a positive map (e.g. 'softplus') for the scale")
        if shift_form not in SHIFT_FORMS:
            raise ValueError(f'TR2M: shift_form must be one of {SHIFT_FORMS}, '
                             f'got {shift_form!r}')
        if shift_form == 'relative' and (self.scale_head is None or self.shift_head is None):
            raise ValueError("TR2M: shift_form='relative' (B = A * b) needs both heads")
        self.shift_form = shift_form
        self.monitor_maps = monitor_maps
        self.loss_silog = build_module(loss_silog or dict(type='SiLogLoss'))
        if isinstance(loss_pseudo, dict) and 'form' not in loss_pseudo:
            # L_tp-si is L_si on the pseudo target (eq. 6): the same form unless set
            loss_pseudo = dict(loss_pseudo, **self.loss_silog.form_args)
        self.loss_pseudo = build_module(loss_pseudo)
        self.loss_smooth = build_module(loss_smooth)
        self.attach_soc(soc)  # L_soc: contrasts the neck's output, keeps an EMA copy of the neck

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
    def frozen_features(self, inputs: Tensor, data_samples: Optional[SampleList]
                        ) -> FrozenFeatures:
        """Everything the frozen components give, without gradients: ``Dr`` (precomputed by
        the pipeline when every sample carries it, else from the frozen model), image tokens
        and the caption embedding (computed, or read from the feature cache)."""
        rel, img_feats = self.frozen_image_features(inputs, data_samples)
        text = None
        if self.text_encoder is not None:
            with torch.no_grad():
                text = self.text_encoder(self.captions(data_samples))
        return FrozenFeatures(rel, img_feats, text)

    def frozen_image_features(self, inputs: Tensor, data_samples: Optional[SampleList]
                              ) -> Tuple[Tensor, Tensor]:
        """``Dr`` ``(B, 1, H, W)`` and image tokens ``(B, D, h, w)`` from the frozen models
        (what ``tools/cache_features.py`` stores per sample and view); with shared tokens both
        from the relative-depth model's one forward (``Dr`` from the samples when they carry
        it)."""
        if self.image_tokens == 'relative_depth':
            with torch.no_grad():
                rel, img_feats = self.relative_depth.forward_with_tokens(inputs, data_samples)
            size = tuple(inputs.shape[-2:])
            if data_samples and all('rel_depth' in s and tuple(s.rel_depth.shape) == size
                                    for s in data_samples):  # precomputed Dr, as without
                rel = relative_inverse_depth(None, inputs, data_samples)
            return rel.float(), img_feats
        rel = relative_inverse_depth(self.relative_depth, inputs, data_samples)
        with torch.no_grad():
            img_feats = self.image_encoder(inputs, data_samples)
        return rel, img_feats

    def image_tokens_of(self, img_feats: Tensor) -> Tensor:
        """The neck's image input: the frozen tokens through ``token_proj`` when there is one."""
        return self.token_proj(img_feats) if self.token_proj is not None else img_feats

    def rescale_maps(self, feats: Tensor, size: Tuple[int, int],
                     dead: Optional[Dict[str, Tensor]] = None) -> Tuple[Tensor, Tensor]:
        """Scale map ``A`` and shift map ``B`` ``(B, 1, H, W)`` from fused features.

        With a dict ``dead``, each head's dead fraction (``scale_dead_frac``,
        ``shift_dead_frac``, see ``monitor_maps``) is written into it."""
        ones = feats.new_ones(feats.shape[0], 1, *size)
        maps = {}
        for name, head in (('scale', self.scale_head), ('shift', self.shift_head)):
            if head is None:
                maps[name] = ones if name == 'scale' else ones * 0
                continue
            if dead is None or not hasattr(head, 'preactivation'):
                maps[name] = head(feats, size)
                continue
            pre = head.preactivation(feats, size)
            maps[name] = map_activation(pre, head.activation)
            dead[f'{name}_dead_frac'] = dead_fraction(pre, head.activation)
        scale, shift = maps['scale'], maps['shift']
        if self.shift_form == 'relative':
            shift = scale * shift  # B = A * b
        return scale, shift

    def _run(self, inputs: Tensor, data_samples: Optional[SampleList],
             dead: Optional[Dict[str, Tensor]] = None) -> Dict[str, Tensor]:
        rel, img_feats, text = self.frozen_features(inputs, data_samples)
        feats = self.neck(self.image_tokens_of(img_feats), text)
        scale, shift = self.rescale_maps(feats, tuple(inputs.shape[-2:]), dead)
        # eq. 3: 1 / (A * Dr + B); denominators below the floor are counted, not hidden
        depth, nonpos = affine_inverse_to_depth(rel, scale, shift, return_nonpositive=True)
        return dict(rel=rel, feats=feats, scale=scale, shift=shift, depth=depth, nonpos=nonpos)

    # ---- modes ---------------------------------------------------------------------------
    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        return self._run(inputs, data_samples)['depth']

    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        out = self._run(inputs, data_samples)
        return self.add_pred(data_samples, inputs.shape[0], pred_depth=out['depth'],
                             pred_rel_depth=out['rel'], pred_scale=out['scale'],
                             pred_shift=out['shift'])

    def loss(self, inputs: Tensor, data_samples: SampleList,
             gt: Optional[GroundTruth] = None) -> Dict[str, Tensor]:
        gt, valid = gt if gt is not None else self.stack_gt(inputs, data_samples)
        dead = {} if self.monitor_maps else None
        out = self._run(inputs, data_samples, dead)
        losses = dict(loss_silog=self.loss_silog(out['depth'], gt, valid))
        losses['nonpos_denom_px'] = out['nonpos'].float()  # pixels clamped to 1e8
        if dead is not None:  # scale_dead_frac / shift_dead_frac (DeadMapHook warns)
            # pixels whose denominator sits below the floor pass no gradient to A or B either
            # (a signed shift that overshot below -A * Dr: the floor is its dead zone)
            dead['denom_dead_frac'] = out['nonpos'].float() / out['depth'].numel()
            losses.update(dead)
        if self.loss_pseudo is not None:
            cap = self.protocol_values(data_samples, 'cap', gt)  # inf: no cap
            loss, passed = self.loss_pseudo(out['depth'], out['rel'], gt, valid, max_depth=cap)
            losses['loss_pseudo'] = loss
            losses.update(self.per_dataset_mean('pseudo_pass_frac', passed, data_samples))
        if self.loss_smooth is not None:
            losses['loss_smooth'] = (self.loss_smooth(out['scale'], inputs)
                                     + self.loss_smooth(out['shift'], inputs))
        return losses
