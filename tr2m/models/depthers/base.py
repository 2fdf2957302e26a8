"""``BaseDepther``: the one base class of every depther (TR2M, RSA, relative baselines)."""
from abc import abstractmethod
from typing import Dict, List, NamedTuple, Optional, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from torch import Tensor, nn

from tr2m.functional import MIN_INV_DEPTH, affine_inverse_to_depth  # noqa: F401 (re-exported)
from tr2m.models.layers.image_ops import resize_to
from tr2m.registry import MODELS
from tr2m.structures import DepthDataSample, protocol_of

SampleList = List[DepthDataSample]


def build_module(cfg: Union[dict, nn.Module, None]) -> Optional[nn.Module]:
    """Build ``cfg`` from :data:`MODELS` unless it already is a module (or None)."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(cfg)


def relative_inverse_depth(model: Optional[nn.Module], inputs: Tensor,
                           data_samples: Optional[SampleList]) -> Tensor:
    """``Dr`` ``(B, 1, H, W)``: each sample's precomputed ``rel_depth`` when all have one at
    the input size, else the frozen ``model``'s output (without gradients)."""
    if data_samples and all('rel_depth' in s and tuple(s.rel_depth.shape) ==
                            tuple(inputs.shape[-2:]) for s in data_samples):
        return torch.stack([s.rel_depth.data for s in data_samples]).to(inputs).float()
    if model is None:
        raise ValueError('no relative_depth model and the samples carry no rel_depth at the '
                         'input size')
    with torch.no_grad():
        return model(inputs, data_samples).float()


class GroundTruth(NamedTuple):
    """A batch's GT at the input size: ``depth`` ``(B, 1, H, W)`` (float, metres or the
    protocol's unit) and ``valid`` ``(B, 1, H, W)`` (bool: positive, finite, not masked)."""

    depth: Tensor
    valid: Tensor


class BaseDepther(BaseModel):
    """The one base class of every depther: mode dispatch, GT stacking, SOC, resizing
    predictions, checkpoint policy and the loss-balance diagnostics.

    One training step (mmengine's ``train_step``) and where each part lives::

        forward(inputs, data_samples, mode='loss')               BaseDepther
         |- gt = stack_gt(inputs, data_samples)                  GT stacked once (SOC on)
         |- with soc.capture():                                  forward hook on soc.feature
         |      losses = loss(inputs, data_samples, gt)          the depther's own terms
         |- losses.update(soc(self, inputs, data_samples, *gt))  loss_soc, soc_* diagnostics
         '- losses.update(loss_balance(losses))                  every N steps: gnorm_*, gratio_*
        sum of the 'loss' terms -> backward -> optimizer step    mmengine's OptimWrapper
        SOCMomentumHook.after_train_iter                         default_hooks.soc_momentum
         '- soc.momentum_update()                                key queue push, EMA step;
                                                                 only after a real step

    SOC: every depther takes ``soc=None`` (a ``ScaleOrientedContrast`` config or module) and
    hands it to :meth:`attach_soc` in one line once its submodules exist; the component hooks
    the submodule it contrasts (``soc.feature``), so a depther's ``loss`` needs no SOC code.
    ``SOCMomentumHook`` is a default hook, and ``tools/train.py`` refuses a config that drops
    it (see :class:`~tr2m.models.contrast.MomentumComponent` for why a hook).

    Loss balance: when ``loss_balance_due`` is set (by ``LossBalanceHook`` every N iterations),
    the next ``mode='loss'`` call also returns, for every loss term ``t`` but the reference
    (``loss_silog``, else the first), ``gnorm_<t>``: the gradient norm of the weighted term on
    the trainable parameters it shares with the reference, and ``gratio_<t>``: that norm over
    the reference's on the same parameters (one extra backward pass per term).

    Checkpoint policy: frozen submodules whose weights came from a pretrained source
    (``weights_source != 'random'``) are left out of ``state_dict()`` -- they are rebuilt from
    that source -- so a TR2M checkpoint holds the ~19M trained parameters, not the ~450M frozen
    ones. Frozen modules with random weights (tests, the offline demo) are saved. Loading
    checks that the checkpoint belongs to this model and raises if it does not.
    """

    def __init__(self, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='DepthDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.soc: Optional[nn.Module] = None  # set by attach_soc
        self.loss_balance_due = False  # set by LossBalanceHook
        self._register_state_dict_hook(BaseDepther._drop_pretrained_frozen)
        self._register_load_state_dict_pre_hook(self._check_checkpoint)
        self.register_load_state_dict_post_hook(BaseDepther._forgive_pretrained_frozen)

    def attach_soc(self, soc: Union[dict, nn.Module, None]) -> None:
        """Build (if a config) and attach a scale-oriented contrast component as ``self.soc``
        (None: no SOC). Call it once, at the end of ``__init__``: the component looks up the
        submodules it contrasts and copies, so they must exist, and the optimizer must see its
        projector."""
        if self.soc is not None:
            raise RuntimeError(f'{type(self).__name__} already has a SOC component')
        self.soc = build_module(soc)
        if self.soc is not None:
            self.soc.attach(self)

    # ---- mode dispatch -------------------------------------------------------------------
    def forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None,
                mode: str = 'tensor'):
        if mode == 'loss':  # the call graph of the class docstring
            if self.soc is None:
                losses = self.loss(inputs, data_samples)
            else:
                gt = self.stack_gt(inputs, data_samples)  # shared by loss and SOC
                with self.soc.capture():  # records the output of the module SOC contrasts
                    losses = self.loss(inputs, data_samples, gt)
                losses.update(self.soc(self, inputs, data_samples, *gt))
            if self.loss_balance_due:
                self.loss_balance_due = False
                losses.update(self.loss_balance(losses))
            return losses
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    @abstractmethod
    def loss(self, inputs: Tensor, data_samples: SampleList,
             gt: Optional[GroundTruth] = None) -> Dict[str, Tensor]:
        """Losses (keys containing 'loss' are summed) and diagnostics. ``gt`` is the batch's
        stacked GT when the caller has it (``forward`` with SOC on); else stack it here."""

    @abstractmethod
    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        """Samples with ``pred_depth`` at the GT (or original image) resolution."""

    @abstractmethod
    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        """Metric depth ``(B, 1, H, W)`` at the input resolution."""

    def loss_balance(self, losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """``gnorm_<term>`` / ``gratio_<term>`` of every loss term against the reference term
        on the trainable parameters both reach (see the class docstring)."""
        terms = {k: v for k, v in losses.items()
                 if 'loss' in k and isinstance(v, Tensor) and v.requires_grad}
        if len(terms) < 2:
            return {}
        ref = 'loss_silog' if 'loss_silog' in terms else next(iter(terms))
        params = [p for p in self.parameters() if p.requires_grad]

        def grads(value: Tensor):
            return torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)

        ref_grads = grads(terms[ref])
        out = {}
        for name, value in terms.items():
            if name == ref:
                continue
            shared = [(g, r) for g, r in zip(grads(value), ref_grads)
                      if g is not None and r is not None]
            short = name.replace('loss_', '')
            if not shared:
                out[f'gnorm_{short}'] = value.new_zeros(())
                continue
            norm = torch.sqrt(sum((g.float() ** 2).sum() for g, _ in shared))
            ref_norm = torch.sqrt(sum((r.float() ** 2).sum() for _, r in shared))
            out[f'gnorm_{short}'] = norm.detach()
            if ref_norm > 0:  # e.g. zero-initialised heads give the reference no gradient yet
                out[f'gratio_{short}'] = (norm / ref_norm).detach()
        return out

    # ---- helpers ------------------------------------------------------------------------
    @staticmethod
    def stack_gt(inputs: Tensor, data_samples: SampleList) -> GroundTruth:
        """GT depth and valid mask ``(B, 1, H, W)``, which must match the input size."""
        size = tuple(inputs.shape[-2:])
        for s in data_samples:
            if 'gt_depth' not in s:
                raise KeyError(f'sample {s.metainfo.get("img_path")} has no gt_depth; training '
                               'needs LoadDepth in the pipeline')
            if tuple(s.gt_depth.shape) != size:
                raise ValueError(f'gt_depth of {s.metainfo.get("img_path")} has size '
                                 f'{tuple(s.gt_depth.shape)} but the image has {size}: load '
                                 'depth before resizing in training pipelines')
        gt = torch.stack([s.gt_depth.data for s in data_samples]).to(inputs.device).float()
        valid = torch.stack([s.gt_valid.data if 'gt_valid' in s else s.gt_depth.data > 0
                             for s in data_samples]).to(inputs.device).bool()
        return GroundTruth(gt, valid & (gt > 0) & torch.isfinite(gt))

    @staticmethod
    def protocol_values(data_samples: Optional[SampleList], key: str, like: Tensor) -> Tensor:
        """Each sample's :class:`~tr2m.structures.DepthProtocol` attribute ``key``
        (``'min_depth'``, ``'max_depth'``, ``'cap'``...) as a ``(B,)`` tensor like ``like``;
        ``inf`` where the value is None (no bound, no cap). A sample without a protocol has the
        default one."""
        values = []
        for s in data_samples or []:
            value = getattr(protocol_of(s), key)
            values.append(float('inf') if value is None else float(value))
        return torch.tensor(values, dtype=like.dtype, device=like.device)

    @staticmethod
    def per_dataset_mean(name: str, values: Tensor,
                         data_samples: Optional[SampleList]) -> Dict[str, Tensor]:
        """``{name: mean}`` plus ``{name/<dataset_name>: mean over that dataset's samples}``
        (diagnostics: detached, and ``name`` must not contain "loss")."""
        values = values.detach().float()
        out = {name: values.mean()}
        names = [s.metainfo.get('dataset_name') for s in data_samples or []]
        for ds in sorted({n for n in names if n}):
            pick = torch.tensor([n == ds for n in names], device=values.device)
            out[f'{name}/{ds}'] = values[pick].mean()
        return out

    @staticmethod
    def captions(data_samples: Optional[SampleList]) -> List[str]:
        """Each sample's caption; a missing one is an error that names the image."""
        if not data_samples:
            raise ValueError('captions are needed but no data samples were given')
        out = []
        for s in data_samples:
            cap = s.caption
            if not cap or not cap.strip():
                raise ValueError(f'empty or missing caption for image {s.metainfo.get("img_path")}'
                                 '; add LoadCaption to the pipeline (or a fallback caption)')
            out.append(cap)
        return out

    @staticmethod
    def add_pred(data_samples: Optional[SampleList], batch: int, **maps: Tensor) -> SampleList:
        """Resize each ``(B, 1, H, W)`` map to its sample's GT (else original) size and attach
        it as a field (``pred_depth=...``, ``pred_rel_depth=...``)."""
        if data_samples is None:
            data_samples = [DepthDataSample() for _ in range(batch)]
        for i, s in enumerate(data_samples):
            if 'gt_depth' in s:
                size = tuple(s.gt_depth.shape)
            else:
                size = tuple(s.metainfo.get('ori_shape', next(iter(maps.values())).shape[-2:]))
            for name, value in maps.items():
                setattr(s, name, PixelData(data=resize_to(value[i:i + 1], size)[0]))
        return data_samples

    # ---- checkpoint policy ---------------------------------------------------------------
    def _pretrained_frozen_prefixes(self) -> List[str]:
        return [name + '.' for name, m in self.named_modules()
                if name and getattr(m, 'weights_source', 'random') != 'random']

    @staticmethod
    def _drop_pretrained_frozen(module, state_dict, prefix, local_metadata):
        skip = tuple(prefix + p for p in module._pretrained_frozen_prefixes())
        if skip:
            for key in [k for k in state_dict if k.startswith(skip)]:
                del state_dict[key]
        return state_dict

    @staticmethod
    def _forgive_pretrained_frozen(module, incompatible_keys) -> None:
        # Keys of frozen pretrained parts are absent by design (see the class docstring).
        skip = tuple(module._pretrained_frozen_prefixes())
        if skip:
            incompatible_keys.missing_keys[:] = [
                k for k in incompatible_keys.missing_keys if not k.startswith(skip)]

    def _check_checkpoint(self, state_dict, prefix, local_metadata, strict, missing_keys,
                          unexpected_keys, error_msgs) -> None:
        expected = self.state_dict(prefix=prefix)
        skip = tuple(prefix + p for p in self._pretrained_frozen_prefixes())
        given = {k for k in state_dict if not (skip and k.startswith(skip))}
        missing = sorted(set(expected) - given)
        unexpected = sorted(given - set(expected))
        wrong = sorted(k for k in set(expected) & given
                       if tuple(expected[k].shape) != tuple(state_dict[k].shape))
        if missing or unexpected or wrong:
            raise RuntimeError(
                f'checkpoint does not fit {type(self).__name__} (is it from another model or '
                f'config?): {len(missing)} missing keys {missing[:4]}, {len(unexpected)} '
                f'unexpected keys {unexpected[:4]}, {len(wrong)} shape mismatches {wrong[:4]}')
