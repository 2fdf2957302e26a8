"""RSA: a caption -> one global scale and shift for a frozen relative-depth model."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

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
from tr2m.registry import MODELS
from tr2m.structures import DepthDataSample

LOSS_NORMS = ('as_released', 'as_intended', 'none')
#: RSA adds this to the norm it divides by.
NORM_EPS = 1e-8


def normalize_by_detached_norm(loss: Tensor, eps: float = NORM_EPS) -> Tensor:
    """``loss / (||loss||.detach() + eps)`` (RSA's per-dataset loss normalisation).

    For a scalar loss ``L > 0`` the value is ~1 and the gradient is ``grad(L) / (L + eps)``
    ~ ``grad(log L)``: the dataset's gradient direction is kept and its size no longer depends
    on how large its loss is (metres of error on KITTI against VOID's), so each normalised
    dataset weighs alike.
    """
    return loss / (loss.detach().norm() + eps)


def combine_dataset_losses(losses: Dict[str, Tensor], mode: str = 'as_released',
                           unnormalised: Sequence[str] = ('kitti',),
                           eps: float = NORM_EPS) -> Dict[str, Tensor]:
    """Each dataset's loss as RSA hands it to ``backward``.

    Args:
        losses (dict[str, Tensor]): ``dataset name -> scalar loss`` of one step.
        mode (str): 'as_released': :func:`normalize_by_detached_norm` on every dataset but
            those in ``unnormalised`` (RSA's ``train_3d.py`` assigns KITTI's normalised loss to a
            misspelt ``loss_kittt`` and back-propagates the raw ``loss_kitti``); 'as_intended':
            on every dataset; 'none': the raw losses. Defaults to 'as_released'.
        unnormalised (Sequence[str]): dataset names 'as_released' leaves raw.
            Defaults to ('kitti',).
        eps (float): added to the norm. Defaults to 1e-8 (RSA's).

    Returns:
        dict[str, Tensor]: same keys; their sum has the gradient of RSA's step.
    """
    if mode == 'as_released':
        return {k: v if k in unnormalised else normalize_by_detached_norm(v, eps)
                for k, v in losses.items()}
    elif mode == 'as_intended':
        return {k: normalize_by_detached_norm(v, eps) for k, v in losses.items()}
    elif mode == 'none':
        return dict(losses)
    else:
        raise ValueError(f'loss_norm must be one of {LOSS_NORMS}, got {mode!r}')


@MODELS.register_module()
class RSA(BaseDepther):
    """RSA (Zeng et al., NeurIPS 2024) as released: ``D = 1 / (s * Dr + t)`` with one positive
    ``(s, t)`` per image predicted from the caption alone.

    A frozen text tower (CLIP RN50 in RSA: its unnormalised 1024-d ``encode_text`` output)
    embeds the caption; :class:`GlobalScaleShiftHead` (RSA's MLP layout, ``exp`` on both
    outputs) gives ``s`` and ``t``, applied to the frozen relative inverse depth ``Dr``. Only
    the head trains. Captions: a random one of the image's 15 at training, index 0 at test
    (RSA's ``get_text``; set by ``LoadCaption`` in the pipelines).

    Training step (RSA's ``train_3d.py``): a step holds one sub-batch of each training dataset
    (``PerDatasetBatchSampler``); the samples are grouped by ``dataset_name`` and each group
    runs on its own, so datasets may differ in image size. Each dataset's loss is the Huber
    loss on metric depth (``HuberDepthLoss``: ``delta`` 1 m, summed over the sub-batch with
    each image weighted by its valid fraction) over the GT pixels inside the sample's protocol
    range (``min_depth < gt < max_depth``, RSA's mask with its 10 / 80 / 5 m maxima). The
    losses are combined by :func:`combine_dataset_losses` (``loss_norm``) and reported as
    ``loss_<dataset>``; mmengine sums them and back-propagates once, which gives the same
    gradient as RSA's one ``backward`` per dataset (gradients add). ``err_<dataset>`` is each
    raw loss and ``rsa_scale`` / ``rsa_shift`` the batch means (diagnostics). The recipe's
    Adam, gradient clipping and poly decay are in ``configs/_base_/schedules/schedule_rsa_50e.py``.

    Differences from the release, for the record: RSA's minimum training depth was 0.2 m for
    all three datasets (its ``change_to_void`` sets ``min_depth_eval`` before the losses are
    built), here each protocol's own (1e-3 m for NYUv2 and KITTI); RSA computes in float16 CLIP.

    Args:
        relative_depth (dict | nn.Module): frozen relative inverse-depth model,
            ``(images, data_samples) -> (B, 1, H, W)``; skipped when every sample carries a
            precomputed ``rel_depth``.
        text_encoder (dict | nn.Module): frozen, ``captions -> TextEmbedding``; its
            ``out_channels`` (pooled width) feeds the head.
        head (dict | nn.Module): defaults to ``GlobalScaleShiftHead`` (RSA's layout);
            ``in_channels`` defaults to the text encoder's width.
        loss (dict | nn.Module): ``(pred, gt, valid) -> scalar`` per dataset. Defaults to
            ``HuberDepthLoss(delta=1.0, reduction='released')``.
        loss_norm (str): 'as_released', 'as_intended' or 'none' (see
            :func:`combine_dataset_losses`). Defaults to 'as_released'.
        unnormalised_datasets (Sequence[str]): the datasets 'as_released' leaves raw.
            Defaults to ('kitti',).
        protocol_range (bool): train only on GT inside each sample's protocol range.
            Defaults to True.
        soc (dict | nn.Module, optional): a ``ScaleOrientedContrast`` on a submodule's output
            (see :class:`~tr2m.models.depthers.base.BaseDepther`). Defaults to None.
        data_preprocessor (dict, optional): defaults to
            ``DepthDataPreprocessor(mixed_sizes='list')``.
    """

    def __init__(self, relative_depth, text_encoder, head: Optional[dict] = None,
                 loss: Optional[dict] = None, loss_norm: str = 'as_released',
                 unnormalised_datasets: Sequence[str] = ('kitti',),
                 protocol_range: bool = True, soc: Union[dict, nn.Module, None] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='DepthDataPreprocessor', mixed_sizes='list')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if loss_norm not in LOSS_NORMS:
            raise ValueError(f'loss_norm must be one of {LOSS_NORMS}, got {loss_norm!r}')
        self.loss_norm = loss_norm
        self.unnormalised_datasets = tuple(unnormalised_datasets)
        self.protocol_range = protocol_range
        self.relative_depth = build_module(relative_depth)
        self.text_encoder = build_module(text_encoder)
        head = head if head is not None else dict(type='GlobalScaleShiftHead')
        if isinstance(head, dict):
            head = dict(head)
            head.setdefault('in_channels', self.text_encoder.out_channels)
        self.head = build_module(head)
        self.loss_depth = build_module(
            loss if loss is not None else dict(type='HuberDepthLoss', delta=1.0))
        self.attach_soc(soc)

    # ---- grouping ------------------------------------------------------------------------
    @staticmethod
    def _group(inputs: Union[Tensor, List[Tensor]], data_samples: SampleList,
               key) -> List[Tuple[object, List[int], Tensor]]:
        """``(key, indices, (b, 3, H, W) images)`` per distinct ``key(i)``, in order of first
        appearance; the images of a group must share their size."""
        groups: Dict[object, List[int]] = {}
        for i in range(len(inputs)):
            groups.setdefault(key(i), []).append(i)
        out = []
        for k, idx in groups.items():
            if isinstance(inputs, Tensor):
                x = inputs[idx]
            else:
                shapes = {tuple(inputs[i].shape) for i in idx}
                if len(shapes) > 1:
                    paths = [data_samples[i].metainfo.get('img_path') for i in idx]
                    raise ValueError(f'images of dataset {k!r} in one step differ in size '
                                     f'{sorted(shapes)} ({paths}); resize them to one size '
                                     'per dataset in its pipeline')
                x = torch.stack([inputs[i] for i in idx])
            out.append((k, idx, x))
        return out

    # ---- forward -------------------------------------------------------------------------
    def _run(self, inputs: Tensor, data_samples: Optional[SampleList]) -> Dict[str, Tensor]:
        rel = relative_inverse_depth(self.relative_depth, inputs, data_samples)
        text = self.text_encoder(self.captions(data_samples))
        scale, shift = self.head(text.pooled.to(rel))  # (B, 1, 1, 1) each
        depth = affine_inverse_to_depth(rel, scale, shift)
        return dict(rel=rel, scale=scale, shift=shift, depth=depth)

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        if not isinstance(inputs, Tensor):
            raise ValueError("mode='tensor' needs images of one size; use mode='predict' for "
                             'a batch of mixed sizes')
        return self._run(inputs, data_samples)['depth']

    def predict(self, inputs: Union[Tensor, List[Tensor]],
                data_samples: Optional[SampleList] = None) -> SampleList:
        if data_samples is None:
            data_samples = [DepthDataSample() for _ in range(len(inputs))]
        for _, idx, x in self._group(inputs, data_samples, lambda i: tuple(inputs[i].shape)):
            samples = [data_samples[i] for i in idx]
            out = self._run(x, samples)
            ones = out['rel'].new_ones(out['rel'].shape)
            self.add_pred(samples, x.shape[0], pred_depth=out['depth'],
                          pred_rel_depth=out['rel'], pred_scale=out['scale'] * ones,
                          pred_shift=out['shift'] * ones)
        return data_samples

    def _train_mask(self, gt: Tensor, valid: Tensor, samples: SampleList) -> Tensor:
        if not self.protocol_range:
            return valid
        lo = self.protocol_values(samples, 'min_depth', gt).view(-1, 1, 1, 1)
        hi = self.protocol_values(samples, 'max_depth', gt).view(-1, 1, 1, 1)  # inf: no bound
        return valid & (gt > lo) & (gt < hi)

    def loss(self, inputs: Union[Tensor, List[Tensor]], data_samples: SampleList,
             gt: Optional[GroundTruth] = None) -> Dict[str, Tensor]:
        raw, scales, shifts = {}, [], []
        batch_gt = gt  # the whole batch's when forward shares it (SOC on)
        names = [s.metainfo.get('dataset_name') or 'depth' for s in data_samples]
        for name, idx, x in self._group(inputs, data_samples, lambda i: names[i]):
            samples = [data_samples[i] for i in idx]
            gt, valid = self.stack_gt(x, samples) if batch_gt is None else \
                (batch_gt.depth[idx], batch_gt.valid[idx])
            out = self._run(x, samples)
            raw[name] = self.loss_depth(out['depth'], gt, self._train_mask(gt, valid, samples))
            scales.append(out['scale'].detach().flatten())
            shifts.append(out['shift'].detach().flatten())
        combined = combine_dataset_losses(raw, self.loss_norm, self.unnormalised_datasets)
        losses = {f'loss_{k}': v for k, v in combined.items()}
        losses.update({f'err_{k}': v.detach() for k, v in raw.items()})
        losses.update(rsa_scale=torch.cat(scales).mean(), rsa_shift=torch.cat(shifts).mean())
        return losses
