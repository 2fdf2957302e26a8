"""``MetricDepthBaseline``: the metric-depth systems TR2M is compared with, from ``transformers``
(Depth Pro, ZoeDepth, Depth Anything V2 metric), evaluated like every depther.

Presets (:data:`METRIC_DEPTH_PRESETS`; the random-init builds are within 1% of the published
sizes, which ``tests/test_models/test_depthers/test_metric_baseline.py`` checks on the meta
device):

- ``depth_pro``: ``apple/DepthPro-hf``, 952.0M, no depth cap;
- ``zoedepth_n`` / ``zoedepth_k`` / ``zoedepth_nk``: ``Intel/zoedepth-nyu`` / ``-kitti`` /
  ``-nyu-kitti``, 343.8M / 343.8M / 345.1M, bins up to 10 m / 80 m / 10 and 80 m;
- ``da_v2_metric_{indoor,outdoor}_{s,b,l}``:
  ``depth-anything/Depth-Anything-V2-Metric-{Indoor,Outdoor}-{Small,Base,Large}-hf``,
  24.8M / 97.5M / 335.3M, ``max_depth`` 20 m indoor (Hypersim) / 80 m outdoor (VKITTI 2);
- toy presets for tests: ``depth_pro_tiny``, ``zoedepth_tiny``, ``zoedepth_k_tiny``,
  ``zoedepth_nk_tiny``, ``da_v2_metric_tiny``.

What each model computes (read from ``transformers``' implementations and the original code):

- **Depth Pro** (``DepthProForDepthEstimation``): the image, normalised with mean = std = 0.5,
  is resized to a fixed 1536 x 1536 square (``patch_size / min(scaled_images_ratios)``); the
  network returns a canonical inverse depth ``C`` and, with its FOV head, the horizontal field
  of view in degrees. Metric depth is ``D = f_px / (W * C)`` with ``W`` the image width and
  ``f_px = 0.5 W / tan(fov / 2)`` (the FOV head) or the focal length of the sample's
  intrinsics (``focal='intrinsics'``); as in Apple's code, ``C W / f_px`` is resized to the
  image and clamped to [1e-4, 1e4] before inverting.
- **ZoeDepth** (``ZoeDepthForDepthEstimation``, BEiT-L/16 384 + metric bins): reflect padding
  of ``int(3 sqrt(H/2))`` rows and ``int(3 sqrt(W/2))`` columns (the HF image processor's), a
  resize that keeps the aspect ratio towards 384 x 512 (384 x 768 for the KITTI model, as
  ZoeDepth's ``config_zoedepth_kitti.json``) in multiples of 32, mean = std = 0.5; the output
  is metric depth, resized back bicubically and unpadded. ZoeDepth's evaluation averages the
  prediction with that of the flipped image (``flip_aug``, on by default for these presets).
  The NK model routes each input to its NYU or KITTI bins with a classifier whose vote
  ``transformers`` takes over the whole batch; this wrapper runs it one image at a time, as
  ZoeDepth's batch-1 evaluation does. The ``Intel/zoedepth-kitti`` config on the hub carries
  the NYU bins (1e-3..10 m, hub discussion #1), which with its ``normed`` bin centres caps
  every prediction at 10 m; the ``zoedepth_k`` preset loads it with ZoeDepth's KITTI bins
  (1e-3..80 m) instead (``load_overrides``).
- **Depth Anything V2 metric** (``DepthAnythingForDepthEstimation`` with
  ``depth_estimation_type='metric'``): the DA-V2 relative architecture whose head ends in a
  sigmoid times ``max_depth`` (20 m indoor / Hypersim, 80 m outdoor / Virtual KITTI 2);
  input shorter side 518 in multiples of 14, ImageNet mean/std, as DA-V2's ``run.py``.

Every network returns metric depth at the input resolution, floored at ``min_depth``
(1e-6 m by default; DA's sigmoid reaches 0). Weights load through
:mod:`tr2m.models.pretrained` (hub id, local ``save_pretrained`` directory, ``None`` or
``TR2M_RANDOM_INIT=1`` for random weights, a clear error otherwise), and a checkpoint of
another architecture (missing or mismatched weights) is refused.
"""
import copy
import math
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.models.backbones.relative_depth import REL_DEPTH_PRESETS
from tr2m.models.depthers.base import BaseDepther, GroundTruth, SampleList
from tr2m.models.layers.image_ops import fit_size, normalize, resize_to
from tr2m.models.pretrained import FrozenMixin, load_or_fail, resolve_source
from tr2m.registry import MODELS
from tr2m.structures import protocol_of

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
HALF_MEAN, HALF_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
#: Focal-length sources of Depth Pro: the FOV head always, the sample's intrinsics when it has
#: them (else the FOV head), or the intrinsics of every sample (an error when one lacks them).
FOCAL_MODES = ('predicted', 'intrinsics', 'intrinsics_required')
#: Clamp of Depth Pro's metric inverse depth before inverting (Apple's ``depth_pro.py``).
DEPTH_PRO_INV_RANGE = (1e-4, 1e4)


def _dinov2(hidden: int, layers: int, heads: int, patch: int, image: int) -> dict:
    return dict(model_type='dinov2', hidden_size=hidden, num_hidden_layers=layers,
                num_attention_heads=heads, patch_size=patch, image_size=image,
                out_indices=[layers], use_mask_token=False)


def _depth_pro(hub, encoder, fusion=256, patch=384, hook_ids=(11, 5), hook_dims=(256, 256),
               ratios=(0.25, 0.5, 1), overlaps=(0.0, 0.5, 0.25), dims=(1024, 1024, 512),
               params=None, tiny='depth_pro_tiny'):
    """A Depth Pro preset: DINOv2 patch, image and FOV encoders (``apple/DepthPro-hf``)."""
    config = dict(use_fov_model=True, fusion_hidden_size=fusion, patch_size=patch,
                  intermediate_hook_ids=list(hook_ids), intermediate_feature_dims=list(hook_dims),
                  scaled_images_ratios=list(ratios), scaled_images_overlap_ratios=list(overlaps),
                  scaled_images_feature_dims=list(dims), image_model_config=dict(encoder),
                  patch_model_config=dict(encoder), fov_model_config=dict(encoder))
    return dict(hub=hub, family='depth_pro', config=config, mean=HALF_MEAN, std=HALF_STD,
                flip_aug=False, load_overrides=dict(use_fov_model=True), params=params,
                max_depth=None, tiny=tiny)


_BEIT_L = dict(model_type='beit', image_size=384, num_hidden_layers=24, hidden_size=1024,
               intermediate_size=4096, num_attention_heads=16, use_relative_position_bias=True,
               reshape_hidden_states=False, out_features=['stage6', 'stage12', 'stage18',
                                                          'stage24'])
_BEIT_TINY = dict(model_type='beit', image_size=64, num_hidden_layers=4, hidden_size=32,
                  intermediate_size=64, num_attention_heads=2, use_relative_position_bias=True,
                  reshape_hidden_states=False,
                  out_features=['stage1', 'stage2', 'stage3', 'stage4'])
_NYU_BINS = dict(name='nyu', n_bins=64, min_depth=1e-3, max_depth=10.0)
_KITTI_BINS = dict(name='kitti', n_bins=64, min_depth=1e-3, max_depth=80.0)
#: ZoeD-NK's patch transformer (``transformers`` hard-codes 4 layers and a 128-wide classifier).
_NK_ROUTER = dict(num_patch_transformer_layers=4, patch_transformer_hidden_size=128,
                  patch_transformer_intermediate_size=1024,
                  patch_transformer_num_attention_heads=4)


def _zoedepth(hub, bins, centers, net_size, extra=None, overrides=None, params=None,
              max_depth=None, backbone=None, widths=None, tiny=None):
    """A ZoeDepth preset: MiDaS BEiT-L/16 384 + metric bins heads (ZoeD-M12-N / K / NK)."""
    config = dict(backbone_config=dict(backbone or _BEIT_L),
                  neck_hidden_sizes=[256, 512, 1024, 1024], bin_centers_type=centers,
                  bin_configurations=[dict(b) for b in bins], **(widths or {}), **(extra or {}))
    return dict(hub=hub, family='zoedepth', config=config, mean=HALF_MEAN, std=HALF_STD,
                net_size=net_size, multiple=32, pad_input=True, flip_aug=True,
                route_per_image=len(bins) > 1, load_overrides=overrides or {}, params=params,
                max_depth=max_depth, tiny=tiny)


def _da_v2_metric(size, scene, params=None, tiny='da_v2_metric_tiny'):
    """A Depth Anything V2 metric preset: the relative DA-V2 architecture, metric head."""
    if size == 'tiny':
        relative, hub, max_depth = dict(REL_DEPTH_PRESETS['da_tiny'], native=70), None, 20
    else:
        relative = REL_DEPTH_PRESETS[f'da_v2_{size}']
        name = dict(s='Small', b='Base', l='Large')[size]
        hub = f'depth-anything/Depth-Anything-V2-Metric-{scene.title()}-{name}-hf'
        max_depth = dict(indoor=20, outdoor=80)[scene]  # an int in DepthAnythingConfig
    config = dict(copy.deepcopy(relative['config']), depth_estimation_type='metric',
                  max_depth=max_depth)
    return dict(hub=hub, family='depth_anything', config=config, mean=IMAGENET_MEAN,
                std=IMAGENET_STD, multiple=14, native=relative['native'], flip_aug=False,
                load_overrides={}, params=params, max_depth=float(max_depth), tiny=tiny)


_ZOE_TINY_WIDTHS = dict(fusion_hidden_size=16, bottleneck_features=16, bin_embedding_dim=16,
                        num_relative_features=8, num_attractors=[4, 2, 2, 1])


def _zoe_tiny(bins, centers, extra=None, overrides=None):
    preset = _zoedepth(None, [dict(b, n_bins=16) for b in bins], centers, (64, 96), extra=extra,
                       overrides=overrides, backbone=_BEIT_TINY, widths=_ZOE_TINY_WIDTHS)
    preset['config']['neck_hidden_sizes'] = [8, 16, 32, 32]
    return preset


#: Architecture presets: hub id, ``transformers`` config for random init, pre- and
#: post-processing (normalisation, network input size, padding, flip averaging), the config
#: values forced when loading (``load_overrides``), the published parameter count (``params``,
#: see the module docstring for sources) and ``tiny``: the toy preset of the same family.
METRIC_DEPTH_PRESETS: Dict[str, dict] = {
    # Published: 951,991,330 parameters (apple/DepthPro: three DINOv2-L/16 encoders + decoder
    # + FOV head; counted on the released checkpoint, huggingface.co/takara-ai/
    # DepthPro-Safetensors).
    'depth_pro': _depth_pro('apple/DepthPro-hf', _dinov2(1024, 24, 16, 16, 384),
                            params=951.99e6),
    # Published: 345M (1.38 GB of float32 weights on each of the three hub pages).
    'zoedepth_n': _zoedepth('Intel/zoedepth-nyu', [_NYU_BINS], 'softplus', (384, 512),
                            params=345e6, max_depth=10.0, tiny='zoedepth_tiny'),
    'zoedepth_k': _zoedepth('Intel/zoedepth-kitti', [_KITTI_BINS], 'normed', (384, 768),
                            overrides=dict(bin_configurations=[_KITTI_BINS]), params=345e6,
                            max_depth=80.0, tiny='zoedepth_k_tiny'),
    'zoedepth_nk': _zoedepth('Intel/zoedepth-nyu-kitti', [_NYU_BINS, _KITTI_BINS], 'softplus',
                             (384, 512), extra=_NK_ROUTER, params=345e6, max_depth=80.0,
                             tiny='zoedepth_nk_tiny'),
    # Published (Depth Anything V2 metric_depth README): 24.8M / 97.5M / 335.3M.
    'da_v2_metric_indoor_s': _da_v2_metric('s', 'indoor', 24.8e6),
    'da_v2_metric_indoor_b': _da_v2_metric('b', 'indoor', 97.5e6),
    'da_v2_metric_indoor_l': _da_v2_metric('l', 'indoor', 335.3e6),
    'da_v2_metric_outdoor_s': _da_v2_metric('s', 'outdoor', 24.8e6),
    'da_v2_metric_outdoor_b': _da_v2_metric('b', 'outdoor', 97.5e6),
    'da_v2_metric_outdoor_l': _da_v2_metric('l', 'outdoor', 335.3e6),
    # ---- test presets: the same architectures at toy width, for CPU tests ----------------
    'depth_pro_tiny': _depth_pro(None, _dinov2(32, 2, 2, 8, 32), fusion=16, patch=32,
                                 hook_ids=(1, 0), hook_dims=(8, 8), ratios=(0.5, 1),
                                 overlaps=(0.0, 0.5), dims=(16, 8)),
    'zoedepth_tiny': _zoe_tiny([_NYU_BINS], 'softplus'),
    'zoedepth_k_tiny': _zoe_tiny([_KITTI_BINS], 'normed',
                                 overrides=dict(bin_configurations=[dict(_KITTI_BINS,
                                                                         n_bins=16)])),
    'zoedepth_nk_tiny': _zoe_tiny([_NYU_BINS, _KITTI_BINS], 'softplus',
                                  extra=dict(_NK_ROUTER, patch_transformer_intermediate_size=128)),
    'da_v2_metric_tiny': _da_v2_metric('tiny', 'indoor'),
}
for _name in ('zoedepth_tiny', 'zoedepth_k_tiny', 'zoedepth_nk_tiny'):
    METRIC_DEPTH_PRESETS[_name].update(tiny=_name, max_depth=METRIC_DEPTH_PRESETS[_name][
        'config']['bin_configurations'][-1]['max_depth'])


def build_metric_depth_config(arch: str):
    """The ``transformers`` config of a preset (what random init builds)."""
    from transformers import AutoConfig

    preset = METRIC_DEPTH_PRESETS[arch]
    return AutoConfig.for_model(preset['family'], **copy.deepcopy(preset['config']))


def _fit_minimal(h: int, w: int, target: Tuple[int, int], multiple: int) -> Tuple[int, int]:
    """Keep the aspect ratio, scaling by whichever of ``target / (h, w)`` changes the image
    least (the ZoeDepth image processor's rule), each side rounded to ``multiple``."""
    sh, sw = target[0] / h, target[1] / w
    scale = sw if abs(1 - sw) < abs(1 - sh) else sh
    return (max(multiple, int(round(h * scale / multiple)) * multiple),
            max(multiple, int(round(w * scale / multiple)) * multiple))


class MetricDepthNetwork(FrozenMixin, BaseModule):
    """A frozen ``transformers`` metric-depth model with its pre- and post-processing.

    ``forward(images, focal_px)`` maps ``(B, 3, H, W)`` images in [0, 1] to metric depth
    ``(B, 1, H, W)``; see the module docstring for what each family does.

    Args:
        arch (str): a key of :data:`METRIC_DEPTH_PRESETS`.
        pretrained (str, optional): hub id, local directory or None (random weights);
            ``'default'`` means the preset's hub id.
        input_size (int | str, optional): Depth Anything only: the network input's shorter
            side; ``'native'`` (518) or None (the image's own size, rounded to 14).
        flip_aug (bool, optional): average with the prediction of the mirrored image. None
            uses the preset's default (on for ZoeDepth, whose evaluation does it).
        min_depth (float): floor of the returned depth. Defaults to 1e-6.
    """

    def __init__(self, arch: str, pretrained: Optional[str] = 'default',
                 input_size: Union[int, str, None] = 'native', flip_aug: Optional[bool] = None,
                 min_depth: float = 1e-6, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in METRIC_DEPTH_PRESETS:
            raise KeyError(f'unknown metric-depth arch {arch!r}; '
                           f'known: {sorted(METRIC_DEPTH_PRESETS)}')
        if isinstance(input_size, str) and input_size != 'native':
            raise ValueError(f"input_size must be an int, 'native' or None, got {input_size!r}")
        self.arch = arch
        self.preset = copy.deepcopy(METRIC_DEPTH_PRESETS[arch])
        self.family = self.preset['family']
        if input_size not in (None, 'native') and self.family != 'depth_anything':
            raise ValueError(f'{arch} runs at its fixed network size; input_size applies to '
                             f'Depth Anything presets only, got input_size={input_size}')
        self.input_size = input_size
        self.flip_aug = self.preset['flip_aug'] if flip_aug is None else bool(flip_aug)
        self.min_depth = float(min_depth)
        if pretrained == 'default':
            pretrained = self.preset['hub']
        self.model = self._build(pretrained)
        self.frozen = True
        self.freeze()

    def _build(self, pretrained: Optional[str]):
        from transformers import AutoModelForDepthEstimation

        source = resolve_source(pretrained)
        if source is None:
            self.weights_source = 'random'
            return AutoModelForDepthEstimation.from_config(build_metric_depth_config(self.arch))
        self.weights_source = source
        component = f'MetricDepthBaseline(arch={self.arch!r})'
        overrides = copy.deepcopy(self.preset['load_overrides'])

        def load(src):
            model, info = AutoModelForDepthEstimation.from_pretrained(
                src, output_loading_info=True, **overrides)
            return model, info

        model, info = load_or_fail(component, source, load)
        if model.config.model_type != self.family:
            raise RuntimeError(f'{component}: {source!r} holds a {model.config.model_type!r} '
                               f'model, not {self.family!r}; pass a checkpoint of this '
                               'architecture or pick the matching arch')
        if self.family == 'depth_anything' and model.config.depth_estimation_type != 'metric':
            raise RuntimeError(f'{component}: {source!r} is a relative Depth Anything model '
                               "(depth_estimation_type='relative'); use RelativeDepthBaseline "
                               'or a metric checkpoint')
        if self.family == 'zoedepth':
            want = self.preset['config']
            got = (len(model.config.bin_configurations), model.config.bin_centers_type)
            if got != (len(want['bin_configurations']), want['bin_centers_type']):
                raise RuntimeError(
                    f'{component}: {source!r} has {got[0]} metric-bins head(s) with '
                    f'{got[1]!r} bin centres, the preset {len(want["bin_configurations"])} with '
                    f'{want["bin_centers_type"]!r} (ZoeD-N/K: 1, NK: 2); pick the matching arch')
        missing = sorted(info['missing_keys']) + sorted(str(k) for k in info['mismatched_keys'])
        if missing:
            raise RuntimeError(f'{component}: {source!r} does not fit the preset: '
                               f'{len(missing)} missing or mismatched weights {missing[:4]}')
        return model

    @staticmethod
    def tiny_arch(arch: str) -> str:
        """The toy preset of the same family, for CPU tests."""
        return METRIC_DEPTH_PRESETS[arch]['tiny']

    @property
    def has_fov_head(self) -> bool:
        return self.family == 'depth_pro' and getattr(self.model, 'fov_model', None) is not None

    def padding(self, h: int, w: int) -> Tuple[int, int]:
        """ZoeDepth's reflect padding ``(rows, columns)`` on each side of an ``h x w`` image
        (``int(3 sqrt(h / 2))``, ``int(3 sqrt(w / 2))``; 0 for the other families)."""
        if self.family == 'zoedepth' and self.preset['pad_input']:
            return int(math.sqrt(h / 2) * 3), int(math.sqrt(w / 2) * 3)
        return 0, 0

    def network_size(self, h: int, w: int) -> Tuple[int, int]:
        """The ``(height, width)`` the network sees for an ``h x w`` input (for ZoeDepth, the
        input after :meth:`padding`)."""
        p = self.preset
        if self.family == 'depth_pro':
            cfg = self.model.config
            side = int(round(cfg.patch_size / min(cfg.scaled_images_ratios)))
            return side, side
        elif self.family == 'zoedepth':
            return _fit_minimal(h, w, p['net_size'], p['multiple'])
        elif self.family == 'depth_anything':
            short = p['native'] if self.input_size == 'native' else self.input_size
            return fit_size(h, w, p['multiple'], short)
        else:
            raise ValueError(f'unknown metric-depth family {self.family!r}')

    def _run(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Raw prediction ``(B, 1, h', w')`` (and Depth Pro's FOV in degrees) of network input
        ``x``; the NK router runs one image at a time."""
        if self.preset.get('route_per_image') and x.shape[0] > 1:
            outs = [self._run(x[i:i + 1]) for i in range(x.shape[0])]
            return torch.cat([o[0] for o in outs]), None
        out = self.model(pixel_values=x)
        fov = getattr(out, 'field_of_view', None)
        return out.predicted_depth[:, None].float(), None if fov is None else fov.float()

    def _run_flip(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        raw, fov = self._run(x)
        if self.flip_aug:
            flipped, fov_f = self._run(torch.flip(x, dims=[-1]))
            raw = 0.5 * (raw + torch.flip(flipped, dims=[-1]))
            fov = None if fov is None else 0.5 * (fov + fov_f)
        return raw, fov

    def forward(self, images: Tensor, focal_px: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Metric depth of ``(B, 3, H, W)`` images in [0, 1].

        Args:
            images (Tensor): ``(B, 3, H, W)`` in [0, 1].
            focal_px (Tensor, optional): Depth Pro only: ``(B,)`` horizontal focal length in
                pixels of these images; NaN entries (and None) use the FOV head.

        Returns:
            dict: ``depth`` ``(B, 1, H, W)`` in metres; for Depth Pro also ``focal_px``
            ``(B,)`` (the focal length used) and ``fov_deg`` ``(B,)`` (the FOV head's output,
            NaN without a FOV head).
        """
        h, w = images.shape[-2:]
        with torch.no_grad():
            if self.family == 'depth_pro':
                x = normalize(images, self.preset['mean'], self.preset['std'])
                x = resize_to(x, self.network_size(h, w))
                raw, fov = self._run_flip(x)  # canonical inverse depth, FOV in degrees
                return self._depth_pro(raw, fov, focal_px, (h, w))
            elif self.family == 'zoedepth':
                ph, pw = self.padding(h, w)
                padded = F.pad(images, (pw, pw, ph, ph), mode='reflect')
                size = self.network_size(h + 2 * ph, w + 2 * pw)
                x = normalize(resize_to(padded, size), self.preset['mean'], self.preset['std'])
                raw, _ = self._run_flip(x)
                depth = resize_to(raw, (h + 2 * ph, w + 2 * pw), 'bicubic')
                depth = depth[..., ph:ph + h, pw:pw + w]
            elif self.family == 'depth_anything':
                size = self.network_size(h, w)
                up = size[0] * size[1] > h * w
                x = normalize(resize_to(images, size, 'bicubic' if up else 'bilinear'),
                              self.preset['mean'], self.preset['std'])
                raw, _ = self._run_flip(x)
                depth = resize_to(raw, (h, w))
            else:
                raise ValueError(f'unknown metric-depth family {self.family!r}')
        return dict(depth=depth.clamp_min(self.min_depth))

    def _depth_pro(self, canonical: Tensor, fov: Optional[Tensor], focal_px: Optional[Tensor],
                   size: Tuple[int, int]) -> Dict[str, Tensor]:
        b, w = canonical.shape[0], size[1]
        if fov is None:
            fov = canonical.new_full((b,), float('nan'))
        predicted = 0.5 * w / torch.tan(0.5 * torch.deg2rad(fov))
        if focal_px is None:
            focal = predicted
        else:
            focal_px = focal_px.to(canonical)
            focal = torch.where(torch.isnan(focal_px), predicted, focal_px)
        if bool(torch.isnan(focal).any()):
            raise ValueError(f'{self.arch}: no FOV head in this checkpoint and no focal length '
                             "given; pass intrinsics (focal='intrinsics_required') or load a "
                             'checkpoint with its FOV head')
        inverse = canonical * (w / focal).view(-1, 1, 1, 1)
        inverse = resize_to(inverse, size).clamp(*DEPTH_PRO_INV_RANGE)
        depth = (1.0 / inverse).clamp_min(self.min_depth)
        return dict(depth=depth, focal_px=focal, fov_deg=fov)


@MODELS.register_module()
class MetricDepthBaseline(BaseDepther):
    """A published metric-depth model, frozen, evaluated under tr2m's dataset protocols.

    ``predict`` sets each sample's ``pred_depth`` at the GT resolution, in the unit of the
    sample's protocol (``DepthProtocol.units``: metres by default, millimetres for C3VD and
    SimCol: the networks predict metres, converted by ``DepthProtocol.from_metres``), so every
    dataset protocol of ``DepthMetric`` applies unchanged. Depth Pro also records the focal
    length it used in the sample's metainfo (``pred_focal_px``, and ``pred_focal_source``:
    ``'intrinsics'`` or ``'fov_head'``). Nothing trains: evaluate with
    ``python tools/test.py CONFIG none``.

    Args:
        arch (str): a key of :data:`METRIC_DEPTH_PRESETS`. Defaults to 'depth_pro'.
        pretrained (str, optional): hub id, local ``save_pretrained`` directory, None for
            random weights, or ``'default'`` (the preset's hub id). Defaults to 'default'.
        focal (str): Depth Pro's focal length: ``'predicted'`` (its FOV head, the paper's
            zero-shot setting), ``'intrinsics'`` (each sample's ``intrinsics`` fx when known,
            else the FOV head) or ``'intrinsics_required'`` (an error for a sample without).
            Other families ignore it. Defaults to 'predicted'.
        input_size (int | str, optional): Depth Anything presets: the network's shorter side,
            ``'native'`` (518) or None (the image's size). Defaults to 'native'.
        flip_aug (bool, optional): average with the mirrored image's prediction; None is the
            preset's default (ZoeDepth: on, as its evaluation). Defaults to None.
        min_depth (float): floor of the predicted depth, metres. Defaults to 1e-6.
        soc (dict | nn.Module, optional): accepted as by every depther; nothing trains here.
            Defaults to None.
        data_preprocessor (dict, optional): defaults to ``DepthDataPreprocessor``.
    """

    def __init__(self, arch: str = 'depth_pro', pretrained: Optional[str] = 'default',
                 focal: str = 'predicted', input_size: Union[int, str, None] = 'native',
                 flip_aug: Optional[bool] = None, min_depth: float = 1e-6,
                 soc: Union[dict, nn.Module, None] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if focal not in FOCAL_MODES:
            raise ValueError(f'unknown focal mode {focal!r}; valid: {FOCAL_MODES}')
        self.focal = focal
        self.network = MetricDepthNetwork(arch, pretrained, input_size=input_size,
                                          flip_aug=flip_aug, min_depth=min_depth)
        self.arch = arch
        self.attach_soc(soc)

    @staticmethod
    def tiny_arch(arch: str) -> str:
        """The toy preset of the same family, for CPU tests."""
        return MetricDepthNetwork.tiny_arch(arch)

    def _focal_px(self, inputs: Tensor, data_samples: Optional[SampleList]) -> Optional[Tensor]:
        """Each sample's fx in pixels of ``inputs`` (NaN where unknown), or None."""
        if self.network.family != 'depth_pro' or self.focal == 'predicted':
            return None
        w = inputs.shape[-1]
        values: List[float] = []
        for s in data_samples or [None] * inputs.shape[0]:
            intr = None if s is None else s.metainfo.get('intrinsics')
            fx = float(intr[0]) if intr is not None and len(intr) >= 1 else float('nan')
            if not (math.isfinite(fx) and fx > 0):
                if self.focal == 'intrinsics_required':
                    path = None if s is None else s.metainfo.get('img_path')
                    raise ValueError(f"MetricDepthBaseline(focal='intrinsics_required'): image "
                                     f'{path} has no usable intrinsics (got {intr!r})')
                fx = float('nan')
            img_w = None if s is None else (s.metainfo.get('img_shape') or (None, None))[1]
            values.append(fx * w / img_w if img_w and math.isfinite(fx) else fx)
        return inputs.new_tensor(values)

    def _run(self, inputs: Tensor, data_samples: Optional[SampleList]) -> Dict[str, Tensor]:
        return self.network(inputs, self._focal_px(inputs, data_samples))

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        return self._run(inputs, data_samples)['depth']

    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        focal_in = self._focal_px(inputs, data_samples)
        out = self.network(inputs, focal_in)
        samples = self.add_pred(data_samples, inputs.shape[0], pred_depth=out['depth'])
        for s in samples:
            protocol = protocol_of(s)
            if protocol.units != 'm':
                s.pred_depth.data = protocol.from_metres(s.pred_depth.data)
        if 'focal_px' in out:
            for i, s in enumerate(samples):
                known = focal_in is not None and not math.isnan(float(focal_in[i]))
                s.set_metainfo(dict(pred_focal_px=float(out['focal_px'][i]),
                                    pred_focal_source='intrinsics' if known else 'fov_head'))
        return samples

    def loss(self, inputs: Tensor, data_samples: SampleList,
             gt: Optional[GroundTruth] = None) -> Dict[str, Tensor]:
        raise RuntimeError(
            'MetricDepthBaseline has nothing to train: it is a published metric-depth model '
            'evaluated as released. Run `python tools/test.py CONFIG none`.')
