"""``BaseDepther``: the one base class of every depther (TR2M, RSA, relative baselines)."""
import inspect
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Tuple, Union

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


class DeptherMeta(ABCMeta):
    """Builds a depther, then attaches the plug-ins its config names.

    Every depther accepts ``soc=dict(type='ScaleOrientedContrast', ...)`` (or a built one)
    whether or not its ``__init__`` mentions it: the component needs the depther's submodules,
    so it is attached once they exist, before any optimizer sees the parameters.
    """

    def __call__(cls, *args, soc=None, **kwargs):
        model = super().__call__(*args, **kwargs)
        model.attach_soc(soc)
        return model

    @property
    def __signature__(cls) -> inspect.Signature:
        """``__init__``'s signature plus ``soc`` (what ``inspect.signature(cls)`` reports)."""
        sig = inspect.signature(cls.__init__)
        params = list(sig.parameters.values())[1:]  # without self
        soc = inspect.Parameter('soc', inspect.Parameter.KEYWORD_ONLY, default=None)
        tail = [p for p in params if p.kind == p.VAR_KEYWORD]
        head = [p for p in params if p.kind != p.VAR_KEYWORD and p.name != 'soc']
        return sig.replace(parameters=head + [soc] + tail)


class BaseDepther(BaseModel, metaclass=DeptherMeta):
    """Common plumbing: mode dispatch, GT stacking, resizing predictions, checkpoint policy,
    plug-ins (SOC) and the loss-balance diagnostics.

    Plug-ins: ``soc=`` (see :class:`DeptherMeta`) attaches a
    :class:`~tr2m.models.contrast.ScaleOrientedContrast`; in ``mode='loss'`` it captures its
    feature during :meth:`loss` and adds ``loss_soc`` and its diagnostics.

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
        self._register_state_dict_hook(BaseDepther._drop_pretrained_frozen)
        self._register_load_state_dict_pre_hook(self._check_checkpoint)
        self.register_load_state_dict_post_hook(BaseDepther._forgive_pretrained_frozen)

    #: Plug-in arguments every depther accepts from its config (see :class:`DeptherMeta`).
    PLUGIN_ARGS = ('soc',)

    # ---- plug-ins ------------------------------------------------------------------------
    def attach_soc(self, soc: Union[dict, nn.Module, None]) -> None:
        """Build (if a config) and attach a scale-oriented contrast component as ``self.soc``;
        None leaves the depther without one."""
        self.soc = build_module(soc)
        if self.soc is not None:
            self.soc.attach(self)

    # ---- mode dispatch -------------------------------------------------------------------
    def forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            soc = getattr(self, 'soc', None)
            if soc is None:
                losses = self.loss(inputs, data_samples)
            else:
                with soc.capture():
                    losses = self.loss(inputs, data_samples)
                gt, valid = self.stack_gt(inputs, data_samples)
                losses.update(soc(self, inputs, data_samples, gt, valid))
            if getattr(self, 'loss_balance_due', False):
                self.loss_balance_due = False
                losses.update(self.loss_balance(losses))
            return losses
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    @abstractmethod
    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses (keys containing 'loss' are summed) and diagnostics."""

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
    def stack_gt(inputs: Tensor, data_samples: SampleList) -> Tuple[Tensor, Tensor]:
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
        return gt, valid & (gt > 0) & torch.isfinite(gt)

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
