"""``ScaleOrientedContrast``: TR2M's scale-oriented contrast (eq. 7-8, Section 3.3, A.3.3) as
one component that any depther takes from its config.

It owns everything SOC needs: the projector, the EMA (momentum) copy of the modules that
produce the contrasted feature, the key construction, the class targets and the momentum
update. A depther takes it as its ``soc=`` argument (``soc=dict(type='ScaleOrientedContrast',
feature='neck')`` in a config) and calls ``self.attach_soc`` with it once its submodules exist;
the component captures the named submodule's output with a forward hook, so a depther whose
code only has that line (NeWCRFs, ScaleDepth) gets SOC from a config alone. The call graph of a
training step is drawn in :class:`~tr2m.models.depthers.base.BaseDepther`'s docstring.

Keys, for each query image ``b`` of a step (both pooled, as eq. 8's sums run over all keys):

1. the same image through the momentum branch;
2. another image: the previous one in the step's global batch (images ordered by dataset and
   sample index over all ranks, so N ranks x b images build the same pairs as one process
   with N*b), or, with ``queue_size > 0`` and ``other_dataset=True``, the class statistics of
   a recent image of *another* dataset from a small queue (A.3.3's "random image from the
   datasets"; a mixed training set batches one dataset at a time, so without the queue the
   second key is always from the query's own domain).

Keys enter the loss only through per-image class sums of normalised features
(:func:`~tr2m.models.losses.soc_class_stats`), so under DDP the component gathers those
(``B x D x (C+1)`` numbers per rank), never feature maps, and normalises the loss by the
global number of counted queries.
"""
import copy
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.models.contrast.momentum import MomentumComponent
from tr2m.models.layers.image_ops import stable_hash
from tr2m.models.losses.soc_loss import (
    NEGATIVE_REDUCTIONS,
    class_range,
    depth_classes,
    downsample_depth,
    reduce_labels,
    soc_class_stats,
    soc_query_losses,
    soc_similarity_stats,
)
from tr2m.registry import MODELS
from tr2m.utils.dist import all_gather_cat, global_mean

#: Range of the depth classes: each image's own (paper), the union of the query image and its
#: other key image, or the whole global batch.
CLASS_RANGES = ('image', 'pair', 'batch')
#: ``'classify_then_reduce'``: eq. 7 on the full-resolution GT, then each feature cell takes
#: the mode of its pixels' classes (the paper's order); ``'reduce_then_classify'``: the mean
#: depth of each cell is classified (tr2m's earlier order).
LABEL_ORDERS = ('classify_then_reduce', 'reduce_then_classify')
REDUCE_MODES = ('mode', 'nearest')
#: The paper's projector (A.3.3): two 1x1 convs, ReLU, 2x2 max pooling, ~0.19M parameters.
PAPER_PROJECTOR = dict(type='SOCProjector')


def _detached(value):
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, (list, tuple)) and not hasattr(value, '_fields'):
        return type(value)(_detached(v) for v in value)
    if isinstance(value, tuple):  # NamedTuple (e.g. TextEmbedding)
        return type(value)(*(_detached(v) for v in value))
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    return value


@MODELS.register_module()
class ScaleOrientedContrast(BaseModule, MomentumComponent):
    """Scale-oriented contrast as a component: projector + momentum branch + targets + loss.

    Labels: ``Y = round((d_max - D) / (d_max - d_min) * C)`` (eq. 7) on the GT at input
    resolution, then reduced to the projector's grid (``reduce``); ``d_min/d_max`` per
    ``class_range``. Loss (eq. 8): for a valid query pixel of class ``y``, ``S_p`` = mean cosine
    to the key pixels of class ``y``, ``S_n`` = sum (or mean) over the other classes present
    among the keys of the mean cosine to that class; ``-log(e^Sp / (e^Sp + e^Sn))``, averaged
    over the queries that have a positive (over all ranks). Returned as ``loss_soc`` (weighted),
    with the diagnostics ``soc_pos_frac`` (share of valid queries with a positive) and
    ``soc_other_dataset_frac`` (share of query images whose second key came from another
    dataset).

    Momentum branch: :meth:`momentum_update` (the :class:`MomentumComponent` interface) moves
    the EMA copies after every optimizer step that really happened; ``SOCMomentumHook``, a
    default hook of ``configs/_base_/default_runtime.py``, calls it, and ``tools/train.py``
    refuses a config without that hook (:attr:`REQUIRED_HOOKS`).

    Args:
        feature (str): dotted name of the depther's submodule whose output ``(B, C, h, w)`` is
            contrasted (TR2M: ``'neck'``). Defaults to ``'neck'``.
        momentum_modules (Sequence[str], optional): dotted names of the submodules whose EMA
            copies produce the keys. None means ``[feature]``: the EMA copy of the feature module
            is applied to the inputs that module received (frozen encoders are not run again).
            Otherwise the depther's ``mode='tensor'`` forward is run once more, without
            gradients, with these modules' EMA parameters (MoCo's key encoder). Defaults to None.
        in_channels (int, optional): feature width; defaults to the feature module's
            ``out_channels``.
        projector (dict, optional): projector config (``in_channels`` filled in), or None to
            contrast the feature itself (L2-normalised, at its own resolution): the loss then
            acts on the features the heads read, not on a projector's output that can absorb
            the reorganisation (measured in docs/results.md#soc-mechanism).
            ``dict(type='LinearSOCProjector')`` is one 1x1 conv. Defaults to
            :data:`PAPER_PROJECTOR` (``SOCProjector``: two 1x1 convs with ReLU and 2x2 max
            pooling, ~0.19M parameters for 1024 channels).
        momentum (float): EMA momentum of the key branch. Defaults to 0.999 (paper).
        num_classes (int): ``C``; labels are ``0..C``. Defaults to 20 (paper).
        negative_reduction (str): ``'sum'`` (paper's ``S_n``) or ``'mean'``. Defaults to 'sum'.
        temperature (float): similarity temperature. Defaults to 1.0 (paper).
        loss_weight (float): weight of ``loss_soc``. Defaults to 0.1 (paper).
        label_order (str): one of :data:`LABEL_ORDERS`. Defaults to 'classify_then_reduce'.
        reduce (str): ``'mode'`` (most frequent class of each cell's valid pixels) or
            ``'nearest'``. Defaults to 'mode'.
        class_range (str): one of :data:`CLASS_RANGES`. Defaults to 'image' (paper).
        queue_size (int): images of class statistics kept for other-dataset keys; 0 disables
            the queue (the second key is then always the previous image of the batch). Needs
            ``class_range='image'`` (a queued image's labels cannot depend on a later query).
            Defaults to 0.
        other_dataset (bool): with the queue, prefer a queued image of another dataset as the
            second key (falls back to the batch neighbour when none is queued). Defaults to True.
        feature_stride (int, optional): input pixels per cell of the feature (NeWCRFs'
            ``decode_head.crf_blocks.0``: 4). None: the feature grid spans the input exactly
            (TR2M's neck). Set it for a model that pads its input at the bottom and right and
            returns features of the padded grid (NeWCRFs pads to a multiple of 32): the GT is
            then padded with invalid pixels (or cropped) to ``h * stride x w * stride`` before
            the labels are made, so every cell is labelled by the pixels it sees. Defaults to
            None.
    """

    def __init__(self, feature: str = 'neck', momentum_modules: Optional[Sequence[str]] = None,
                 in_channels: Optional[int] = None,
                 projector: Optional[dict] = PAPER_PROJECTOR,
                 momentum: float = 0.999, num_classes: int = 20, negative_reduction: str = 'sum',
                 temperature: float = 1.0, loss_weight: float = 0.1,
                 label_order: str = 'classify_then_reduce', reduce: str = 'mode',
                 class_range: str = 'image', queue_size: int = 0, other_dataset: bool = True,
                 feature_stride: Optional[int] = None, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value, options in (('negative_reduction', negative_reduction,
                                      NEGATIVE_REDUCTIONS),
                                     ('label_order', label_order, LABEL_ORDERS),
                                     ('reduce', reduce, REDUCE_MODES),
                                     ('class_range', class_range, CLASS_RANGES)):
            if value not in options:
                raise ValueError(f'ScaleOrientedContrast: {name} must be one of {options}, '
                                 f'got {value!r}')
        if not temperature > 0:
            raise ValueError(f'ScaleOrientedContrast: temperature must be positive, '
                             f'got {temperature}')
        if not 0 <= momentum <= 1:
            raise ValueError(f'ScaleOrientedContrast: momentum must be in [0, 1], got {momentum}')
        if queue_size < 0 or (queue_size and class_range != 'image'):
            raise ValueError("ScaleOrientedContrast: queue_size must be >= 0, and a queue needs "
                             f"class_range='image' (got queue_size={queue_size}, "
                             f'class_range={class_range!r})')
        if feature_stride is not None and not (isinstance(feature_stride, int)
                                               and feature_stride > 0):
            raise ValueError('ScaleOrientedContrast: feature_stride must be a positive int or '
                             f'None, got {feature_stride!r}')
        self.feature = feature
        self.feature_stride = feature_stride
        self.momentum_modules = list(momentum_modules) if momentum_modules else [feature]
        self.in_channels = in_channels
        self.projector_cfg = None if projector is None else dict(projector)
        self.momentum = momentum
        self.num_classes = num_classes
        self.negative_reduction = negative_reduction
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.label_order = label_order
        self.reduce = reduce
        self.class_range = class_range
        self.queue_size = queue_size
        self.other_dataset = other_dataset
        self._sources: List[nn.Module] = []  # live modules of the momentum branch (not owned)
        self._captured: Dict[str, object] = {}
        self._capturing = False
        self._pending = None  # the last step's key statistics, queued by momentum_update
        self._handle = None

    # ---- wiring ----------------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return self.num_classes + 1

    def attach(self, model: nn.Module) -> None:
        """Bind to ``model`` (a depther whose submodules exist): build the projector, copy the
        momentum modules and hook the feature module. Called once, by the depther."""
        if self._handle is not None:
            raise RuntimeError('ScaleOrientedContrast is already attached to a model')

        def lookup(name: str) -> nn.Module:
            try:
                return model.get_submodule(name)
            except AttributeError as err:
                raise ValueError(f'ScaleOrientedContrast: {type(model).__name__} has no '
                                 f'submodule {name!r} (feature / momentum_modules name '
                                 'dotted submodule paths)') from err

        feature_module = lookup(self.feature)
        width = self.in_channels or getattr(feature_module, 'out_channels', None)
        if width is None:
            raise ValueError(f'ScaleOrientedContrast: {self.feature!r} '
                             f'({type(feature_module).__name__}) has no out_channels; set '
                             'in_channels in the soc config')
        if self.projector_cfg is None:  # contrast the feature itself
            self.projector, self.embed_channels = nn.Identity(), width
        else:
            self.projector = MODELS.build(dict(self.projector_cfg, in_channels=width))
            self.embed_channels = self.projector.out_channels
        self._sources = [lookup(n) for n in self.momentum_modules]
        # EMA copies are made before the hook exists, so they do not capture anything
        self.momentum_branch = nn.ModuleList(
            copy.deepcopy(m).requires_grad_(False) for m in self._sources)
        self.momentum_projector = copy.deepcopy(self.projector).requires_grad_(False)
        if self.queue_size:
            self.register_buffer('queue_sums', torch.zeros(
                self.queue_size, self.embed_channels, self.num_labels))
            self.register_buffer('queue_counts', torch.zeros(self.queue_size, self.num_labels))
            self.register_buffer('queue_dataset', torch.zeros(self.queue_size, dtype=torch.long))
            self.register_buffer('queue_filled', torch.zeros(self.queue_size, dtype=torch.bool))
            self.register_buffer('queue_ptr', torch.zeros((), dtype=torch.long))
        self._handle = feature_module.register_forward_hook(self._capture, with_kwargs=True)

    def _capture(self, module, args, kwargs, output) -> None:
        if self._capturing:
            self._captured = dict(args=args, kwargs=kwargs, output=output)

    @contextmanager
    def capture(self):
        """Record the feature module's inputs and output during the enclosed forward."""
        self._captured, self._capturing = {}, True
        try:
            yield
        finally:
            self._capturing = False

    def train(self, mode: bool = True) -> 'ScaleOrientedContrast':
        super().train(mode)
        for frozen in (getattr(self, 'momentum_branch', None),
                       getattr(self, 'momentum_projector', None)):
            if frozen is not None:
                frozen.train(False)
        return self

    @torch.no_grad()
    def momentum_update(self) -> None:
        """EMA step ``k = m k + (1 - m) q`` of the momentum branch (``SOCMomentumHook`` calls it
        after every real optimizer step); buffers (e.g. norm statistics) are copied, and the
        last step's key statistics enter the queue (a skipped or failed step never reaches
        the queue)."""
        pending, self._pending = self._pending, None
        if pending is not None and all(torch.isfinite(t.float()).all() for t in pending[:2]):
            self._push(*pending)
        m = self.momentum
        pairs = list(zip(self._sources, self.momentum_branch))
        pairs.append((self.projector, self.momentum_projector))
        for live, ema in pairs:
            for p_q, p_k in zip(live.parameters(), ema.parameters()):
                p_k.mul_(m).add_(p_q.detach(), alpha=1 - m)
            for b_q, b_k in zip(live.buffers(), ema.buffers()):
                b_k.copy_(b_q)

    # ---- keys ------------------------------------------------------------------------------
    @torch.no_grad()
    def _key_features(self, model: nn.Module, inputs: Tensor, data_samples) -> Tensor:
        if self.momentum_modules == [self.feature]:
            args, kwargs = _detached(self._captured['args']), _detached(self._captured['kwargs'])
            return self.momentum_branch[0](*args, **kwargs)
        from torch.func import functional_call

        params = {}
        for name, ema in zip(self.momentum_modules, self.momentum_branch):
            for key, value in list(ema.named_parameters()) + list(ema.named_buffers()):
                params[f'{name}.{key}'] = value
        query = self._captured
        with self.capture():
            functional_call(model, params, (inputs, data_samples), {'mode': 'tensor'},
                            strict=False)
            keys = self._captured['output']
        self._captured = query
        return keys

    # ---- targets ---------------------------------------------------------------------------
    def _class_maps(self, gt: Tensor, valid: Tensor, size: Tuple[int, int]) -> Tuple[Tensor,
                                                                                     Tensor]:
        """The depth map that gets classified and its valid mask, ``(B, H', W')``."""
        if self.label_order == 'classify_then_reduce':
            return gt[:, 0], valid[:, 0]
        small, small_valid = downsample_depth(gt[:, 0], valid[:, 0], size)
        return small, small_valid

    def _labels(self, depth: Tensor, valid: Tensor, d_min: Tensor, d_max: Tensor,
                size: Tuple[int, int]) -> Tensor:
        cls = depth_classes(depth, valid, self.num_classes, d_min, d_max)
        if self.label_order == 'classify_then_reduce':
            cls = reduce_labels(cls, size, self.num_labels, self.reduce)
        return cls

    @staticmethod
    def _dataset_ids(data_samples, batch: int, device) -> Tensor:
        names = [s.metainfo.get('dataset_name', '') for s in data_samples] if data_samples \
            else [''] * batch
        # a stable 63-bit id per dataset name, identical on every rank and process
        return torch.tensor([stable_hash(str(n)) >> 1 for n in names], dtype=torch.long,
                            device=device)

    @staticmethod
    def _sample_ids(data_samples, batch: int, device) -> Tensor:
        ids = [s.metainfo.get('sample_idx', i) for i, s in enumerate(data_samples)] \
            if data_samples else list(range(batch))
        return torch.tensor([int(i) for i in ids], dtype=torch.long, device=device)

    # ---- loss ------------------------------------------------------------------------------
    def forward(self, model: nn.Module, inputs: Tensor, data_samples, gt: Tensor,
                valid: Tensor) -> Dict[str, Tensor]:
        """``loss_soc`` and diagnostics for the step whose forward was just captured.

        Args:
            model (nn.Module): the depther (for the momentum forward, when one is needed).
            inputs (Tensor): the step's images ``(B, 3, H, W)``.
            data_samples (list): the step's samples (``dataset_name``, ``sample_idx``).
            gt (Tensor): GT depth ``(B, 1, H, W)`` at the input size.
            valid (Tensor): bool ``(B, 1, H, W)``.
        """
        if 'output' not in self._captured:
            raise RuntimeError(f'ScaleOrientedContrast: the feature module {self.feature!r} did '
                               'not run in this forward')
        feats = self._captured['output']  # (B, C, h, w)
        q = self.projector(feats)  # (B, E, h', w')
        with torch.no_grad():
            k = self.momentum_projector(self._key_features(model, inputs, data_samples))
        size, dev = tuple(q.shape[-2:]), q.device
        if self.feature_stride is not None:
            gt, valid = cover_grid(gt, valid, tuple(feats.shape[-2:]), self.feature_stride)
        depth, dvalid = self._class_maps(gt, valid, size)
        with torch.no_grad():
            q_cls, sums, counts, other = self._targets(k, depth, dvalid, size, data_samples)
        per_query, has_pos = soc_query_losses(q, q_cls, sums, counts, self.negative_reduction,
                                              self.temperature)
        loss = global_mean(per_query.sum(), has_pos.sum())
        n_valid = (q_cls >= 0).sum()
        cos_pos, cos_neg = soc_similarity_stats(q.detach(), q_cls, sums, counts)
        return dict(loss_soc=self.loss_weight * loss,
                    soc_pos_frac=(has_pos.sum() / n_valid.clamp_min(1)).detach().float(),
                    soc_other_dataset_frac=other.float().mean().to(dev),
                    soc_cos_pos=cos_pos, soc_cos_neg=cos_neg)

    def _targets(self, k: Tensor, depth: Tensor, valid: Tensor, size: Tuple[int, int],
                 data_samples) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Query labels, pooled key statistics of both key sets, and which query images took
        their second key from another dataset."""
        batch, dev = k.shape[0], k.device
        d_min, d_max = class_range(depth, valid)  # (B,)
        ds = self._dataset_ids(data_samples, batch, dev)
        sid = self._sample_ids(data_samples, batch, dev)
        # one global order of the step's images: by dataset, then sample index (rank-free)
        info, offset = all_gather_cat(torch.stack(
            [d_min.double(), d_max.double(), ds.double(), sid.double()], 1))
        g_ds, _ = all_gather_cat(ds)  # exact 63-bit ids (a double would round them)
        total = info.shape[0]
        order = torch.sort(info[:, 3], stable=True).indices
        order = order[torch.sort(g_ds[order], stable=True).indices]
        pos = torch.empty_like(order)
        pos[order] = torch.arange(total, device=dev)  # position of each gathered row
        local = torch.arange(batch, device=dev) + offset
        partner = order[(pos[local] - 1) % total]  # gathered row of each query's neighbour
        client = order[(pos[local] + 1) % total]  # the query whose neighbour each image is
        g_min, g_max = info[:, 0].to(depth.dtype), info[:, 1].to(depth.dtype)

        if self.class_range == 'image':
            q_min, q_max, p_min, p_max = d_min, d_max, d_min, d_max
        elif self.class_range == 'pair':
            q_min = torch.minimum(d_min, g_min[partner])
            q_max = torch.maximum(d_max, g_max[partner])
            p_min = torch.minimum(d_min, g_min[client])  # the range of the query I serve
            p_max = torch.maximum(d_max, g_max[client])
        elif self.class_range == 'batch':
            finite = torch.isfinite(g_min)
            lo = g_min[finite].min() if finite.any() else g_min.new_tensor(float('inf'))
            hi = g_max[finite].max() if finite.any() else g_max.new_tensor(-float('inf'))
            q_min = p_min = lo.expand(batch)
            q_max = p_max = hi.expand(batch)
        else:
            raise ValueError(f'unknown class_range {self.class_range!r}')

        q_cls = self._labels(depth, valid, q_min, q_max, size)  # (B, h', w')
        own_sums, own_counts = soc_class_stats(k, q_cls, self.num_labels)
        if self.class_range == 'image':
            as_sums, as_counts = own_sums, own_counts
        else:
            p_cls = self._labels(depth, valid, p_min, p_max, size)
            as_sums, as_counts = soc_class_stats(k, p_cls, self.num_labels)
        g_sums, _ = all_gather_cat(as_sums)  # (G, E, M): each image as its client's key
        g_counts, _ = all_gather_cat(as_counts)
        other_sums, other_counts = g_sums[partner], g_counts[partner]
        other = g_ds[partner] != ds  # the batch neighbour is from another dataset
        if self.queue_size:
            other_sums, other_counts, other = self._from_queue(
                ds, pos[local], other_sums, other_counts)
            # enqueued by momentum_update, i.e. only once the step's update really happened
            self._pending = (g_sums[order], g_counts[order], g_ds[order]) if self.training \
                else None
        return q_cls, own_sums + other_sums, own_counts + other_counts, other

    # ---- queue -----------------------------------------------------------------------------
    def _from_queue(self, ds: Tensor, rank_in_step: Tensor, sums: Tensor,
                    counts: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Replace each query image's second key by a queued image of another dataset: the
        ``i``-th newest eligible entry for the ``i``-th image of the step."""
        size = self.queue_size
        age = (self.queue_ptr - 1 - torch.arange(size, device=ds.device)) % size  # 0 = newest
        eligible = self.queue_filled[None, :]  # (1, Q)
        if self.other_dataset:
            eligible = eligible & (self.queue_dataset[None, :] != ds[:, None])  # (B, Q)
        eligible = eligible.expand(ds.shape[0], size)
        n_elig = eligible.sum(1)
        ranked = torch.where(eligible, age[None, :].float(), torch.full_like(age[None, :].float(),
                                                                             float('inf')))
        by_age = ranked.argsort(1)  # eligible entries first, newest first
        pick = by_age.gather(1, (rank_in_step % n_elig.clamp_min(1))[:, None])[:, 0]
        use = n_elig > 0
        sums = torch.where(use[:, None, None], self.queue_sums[pick].to(sums), sums)
        counts = torch.where(use[:, None], self.queue_counts[pick].to(counts), counts)
        return sums, counts, use

    def _push(self, sums: Tensor, counts: Tensor, ds: Tensor) -> None:
        """Append a step's images (global order) to the ring buffer."""
        n = min(sums.shape[0], self.queue_size)
        sums, counts, ds = sums[-n:], counts[-n:], ds[-n:]
        idx = (self.queue_ptr + torch.arange(n, device=sums.device)) % self.queue_size
        self.queue_sums[idx] = sums.to(self.queue_sums)
        self.queue_counts[idx] = counts.to(self.queue_counts)
        self.queue_dataset[idx] = ds
        self.queue_filled[idx] = True
        self.queue_ptr.copy_((self.queue_ptr + n) % self.queue_size)


def cover_grid(gt: Tensor, valid: Tensor, grid: Tuple[int, int],
               stride: int) -> Tuple[Tensor, Tensor]:
    """GT and mask ``(B, 1, H, W)`` brought to the ``grid[0] * stride x grid[1] * stride``
    pixels a feature grid covers from the top-left corner: padded at the bottom and right with
    invalid pixels (0 depth), or cropped."""
    height, width = grid[0] * stride, grid[1] * stride
    pad_h, pad_w = max(height - gt.shape[-2], 0), max(width - gt.shape[-1], 0)
    gt = F.pad(gt, (0, pad_w, 0, pad_h))[..., :height, :width]
    valid = F.pad(valid, (0, pad_w, 0, pad_h), value=False)[..., :height, :width]
    return gt, valid


def soc_components(model: nn.Module) -> List[ScaleOrientedContrast]:
    """Every :class:`ScaleOrientedContrast` inside ``model``."""
    return [m for m in model.modules() if isinstance(m, ScaleOrientedContrast)]


__all__ = ['ScaleOrientedContrast', 'CLASS_RANGES', 'LABEL_ORDERS', 'PAPER_PROJECTOR',
           'soc_components']
