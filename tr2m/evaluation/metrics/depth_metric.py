"""``DepthMetric``: the standard depth metrics under a dataset's evaluation protocol."""
import logging
import math
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from torch import Tensor

from tr2m.functional import (
    AGGREGATIONS,
    ALIGN_SPACES,
    BOUNDARY_REDUCTIONS,
    BOUNDARY_THRESHOLDS,
    CROPS,
    DEPTH_EPS,
    EIGEN_CONVENTIONS,
    GARG_CONVENTIONS,
    MIN_INV_DEPTH,
    aggregate_boundary_counts,
    aggregate_metric_sums,
    align_lsq,
    align_lsq_inverse,
    align_median,
    apply_scale_shift,
    boundary_counts,
    boundary_scores,
    clamp_to_range,
    crop_convention,
    depth_metric_sums,
    eval_mask,
    metrics_from_sums,
    safe_inverse,
    scale_shift_sums,
    solve_scale_shift,
)
from tr2m.registry import METRICS
from tr2m.structures import DepthProtocol, notes_of, protocol_of

FROM_PROTOCOL = 'from_protocol'
ALIGNMENTS = ('none', 'median', 'lsq', 'lsq_inverse', 'global')
#: Protocol fields every entry of :meth:`DepthMetric.protocol_summary` records.
SUMMARY_FIELDS = ('crop', 'crop_convention', 'min_depth', 'max_depth', 'units')


def _field(sample: Union[BaseDataElement, dict], name: str) -> Optional[Tensor]:
    """``sample.<name>.data`` of a data sample or of its ``to_dict()`` form, or None."""
    value = sample.get(name, None)
    if value is None:
        return None
    if isinstance(value, BaseDataElement):  # PixelData
        value = value.get('data', None)
    elif isinstance(value, dict):  # PixelData.to_dict()
        value = value.get('data', None)
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, Tensor):
        raise TypeError(f'{name} must hold a tensor or an array, got {type(value).__name__}')
    return value


def _boundary_options(boundary: Union[bool, str, dict, None]) -> Optional[dict]:
    """The boundary metric's options (thresholds, weights, reduction), or None when off."""
    if boundary is None or boundary is False:
        return None
    options = dict(thresholds=BOUNDARY_THRESHOLDS, weights='ratio', reduction='directions')
    if isinstance(boundary, dict):
        unknown = sorted(set(boundary) - set(options))
        if unknown:
            raise ValueError(f'unknown boundary options {unknown}; valid: {sorted(options)}')
        options.update(boundary)
    elif isinstance(boundary, str) and boundary in BOUNDARY_REDUCTIONS:
        options['reduction'] = boundary  # e.g. --cfg-options test_evaluator.boundary=pairs
    elif boundary is not True:
        raise ValueError(f'boundary must be True, False, a reduction {BOUNDARY_REDUCTIONS} or a '
                         f'dict of options, got {boundary!r}')
    options['thresholds'] = tuple(float(t) for t in options['thresholds'])
    if not options['thresholds']:
        raise ValueError('boundary thresholds must not be empty')
    if options['reduction'] not in BOUNDARY_REDUCTIONS:
        raise ValueError(f"unknown boundary reduction {options['reduction']!r}; valid: "
                         f'{BOUNDARY_REDUCTIONS}')
    # validates the weights against the thresholds
    boundary_scores(torch.zeros(len(options['thresholds']), 4, 3), options['weights'],
                    options['reduction'], options['thresholds'])
    if not isinstance(options['weights'], str):
        options['weights'] = [float(w) for w in options['weights']]
    return options


def _distinct(values: list) -> Any:
    """The value when all agree, else the list of distinct values (first-seen order)."""
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out[0] if len(out) == 1 else out


@METRICS.register_module()
class DepthMetric(BaseMetric):
    """Depth metrics (``abs_rel sq_rel rmse rmse_log log10 silog d1 d2 d3``) under a protocol.

    For every sample: the evaluation mask is ``gt_valid & eval_mask(gt, min, max, crop)``; the
    prediction is aligned (``alignment``), clamped to ``[min_depth, max_depth]`` (a ``min_depth``
    of 0 clamps to 1e-6 instead, so logs stay finite) and scored on the mask. Formulas: see
    :mod:`tr2m.functional.metrics` (``silog`` is BTS / AdaBins' ``100 * sqrt(var(log err))``).

    Protocol: ``min_depth``, ``max_depth`` and ``crop`` are read from each sample's
    :class:`~tr2m.structures.DepthProtocol` (metainfo ``protocol``) unless given here (explicit
    values override every sample; ``crop=None`` means no crop; ``max_depth=float('inf')``
    removes the protocol's upper bound). A sample without a protocol uses the default
    ``DepthProtocol()`` (``min_depth=1e-3, max_depth=None, crop=None, units='m'``).

    Alignment (the relative-depth baselines of the paper):

    - ``'none'``: ``pred_depth`` as is (metric models).
    - ``'median'``: ``pred_depth * median(gt) / median(pred_depth)`` per image.
    - ``'lsq'``: per-image least-squares scale and shift of ``pred_depth`` in depth space.
    - ``'lsq_inverse'``: per-image least squares ``s * x + t ~ 1 / gt`` with ``x`` the relative
      inverse depth, prediction ``1 / (s * x + t)`` (MiDaS protocol).
    - ``'global'``: ONE scale and shift per dataset (over all of its test images), in
      ``global_space`` (``'inverse'`` like ``lsq_inverse``, or ``'depth'`` on ``pred_depth``).
      The normal equations of every image are accumulated in :meth:`process` and solved in
      :meth:`compute_metrics`, so each image's input and GT at its evaluated pixels must be
      kept until then: 8 bytes per evaluated pixel (two float32), e.g. about 1.2 GB for the
      654 NYUv2 test images with the Eigen crop, about 0.1 GB for KITTI's sparse GT. The other
      modes keep ten numbers per image.

    The relative inverse depth ``x`` of the inverse-space modes is the sample's
    ``pred_rel_depth`` (the relative depth the depther used) when it has the GT's resolution,
    otherwise ``1 / pred_depth`` (with ``pred_depth`` floored at 1e-6). The fits use the
    evaluation mask's pixels (:mod:`tr2m.functional.fit`: an image without one is skipped). In
    inverse space a fitted inverse depth below 1e-8 (negative: the fit extrapolates) becomes
    1e-8 (:data:`~tr2m.functional.MIN_INV_DEPTH`), i.e. ``max_depth`` after clamping.

    Crops: ``eigen_crop`` and ``garg_crop`` choose the convention of each named crop (see
    :func:`~tr2m.functional.crop_box`). The defaults follow the public code TR2M
    compares against: Eigen at the fixed indices 45:471, 41:601 whatever the GT size (BTS,
    ZoeDepth, Depth Anything v1), Garg on the GT as evaluated, i.e. the KB-cropped 352 x 1216
    KITTI GT (ZoeDepth, Depth Anything v1 and RSA's released code). ``garg_crop='full_frame'``
    is BTS's offline evaluation; it reads each sample's ``gt_window`` metainfo (set by
    ``KBCrop``). The convention used is recorded as ``crop_convention`` in
    :meth:`protocol_summary`.

    Boundary sharpness (``boundary``): Depth Pro's scale-invariant boundary F1 (see
    :func:`~tr2m.functional.boundary_f1`), computed on the prediction as the model
    returned it (``pred_depth`` floored at 1e-6, before alignment and range clamping: the score
    does not depend on a global scale, and a fitted shift would move the boundaries) over the
    evaluation mask. Keys ``boundary_f1``, ``boundary_precision`` and ``boundary_recall``; per
    image then averaged, or with ``aggregation='pixel'`` from the pooled contour counts. It
    needs dense GT (sparse LiDAR GT has few valid neighbour pairs).

    Aggregation: ``'per_image'`` computes every metric per image and averages over images (the
    protocol of every public toolbox); ``'pixel'`` pools the evaluated pixels of all images
    (exactly, through per-image sums).

    Results: with one ``dataset_name`` the keys are the plain metric names. With several, each
    dataset's metrics are reported under ``'<dataset_name>/<metric>'`` and the plain keys hold
    the aggregate over ALL images (mean over all images, or all pixels pooled). mmengine's
    ``prefix`` is prepended to every key when given (``'<prefix>/...'``). Images with no
    evaluated pixel are skipped, counted and logged; a dataset whose images were all skipped
    reports NaN. :meth:`protocol_summary` describes what was evaluated, per dataset: the
    protocol and the samples' :class:`~tr2m.structures.RunNotes` (caption index, TTA, ...).

    Args:
        min_depth (float, optional): exclusive lower GT bound, in the GT's unit. Defaults to
            None (from each sample's protocol).
        max_depth (float, optional): exclusive upper GT bound and prediction clamp. Defaults to
            None (from each sample's protocol).
        crop (str, optional): ``'from_protocol'``, None, ``'eigen'`` or ``'garg'``. Defaults to
            ``'from_protocol'``.
        alignment (str): one of ``'none' 'median' 'lsq' 'lsq_inverse' 'global'``. Defaults to
            ``'none'``.
        aggregation (str): ``'per_image'`` or ``'pixel'``. Defaults to ``'per_image'``.
        global_space (str): ``'inverse'`` or ``'depth'``, the space of the ``'global'`` fit.
            Defaults to ``'inverse'``.
        eigen_crop (str): ``'fixed'`` (literal 45:471, 41:601) or ``'scaled'`` (to the GT size).
            Defaults to ``'fixed'``.
        garg_crop (str): ``'gt_frame'`` (on the evaluated, KB-cropped GT) or ``'full_frame'``
            (on the full frame, via ``gt_window``). Defaults to ``'gt_frame'``.
        boundary (bool | str | dict): compute the boundary metric; a dict sets its options
            ``thresholds`` (the ``t`` values), ``weights`` (``'ratio'``, ``'uniform'`` or a
            list) and ``reduction`` (``'directions'`` or ``'pairs'``); a reduction's name is
            short for ``dict(reduction=name)``. Defaults to False.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for collecting results across ranks.
            Defaults to ``'cpu'``.
        prefix (str, optional): prefix of every key. Defaults to None (no prefix).
        collect_dir (str, optional): temporary folder for ``collect_device='cpu'``.
            Defaults to None.
    """

    default_prefix: Optional[str] = ''  # plain keys ('abs_rel'), without mmengine's warning

    def __init__(self, min_depth: Optional[float] = None, max_depth: Optional[float] = None,
                 crop: Optional[str] = FROM_PROTOCOL, alignment: str = 'none',
                 aggregation: str = 'per_image', global_space: str = 'inverse',
                 eigen_crop: str = 'fixed', garg_crop: str = 'gt_frame',
                 boundary: Union[bool, str, dict] = False,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if alignment not in ALIGNMENTS:
            raise ValueError(f'unknown alignment {alignment!r}; valid: {ALIGNMENTS}')
        if aggregation not in AGGREGATIONS:
            raise ValueError(f'unknown aggregation {aggregation!r}; valid: {AGGREGATIONS}')
        if global_space not in ALIGN_SPACES:
            raise ValueError(f'unknown global_space {global_space!r}; valid: {ALIGN_SPACES}')
        if eigen_crop not in EIGEN_CONVENTIONS:
            raise ValueError(f'unknown eigen_crop {eigen_crop!r}; valid: {EIGEN_CONVENTIONS}')
        if garg_crop not in GARG_CONVENTIONS:
            raise ValueError(f'unknown garg_crop {garg_crop!r}; valid: {GARG_CONVENTIONS}')
        if crop is not None and crop != FROM_PROTOCOL and crop not in CROPS:
            raise ValueError(f'unknown crop {crop!r}; valid: {FROM_PROTOCOL!r}, None, '
                             + ', '.join(repr(c) for c in CROPS))
        for name, value in (('min_depth', min_depth), ('max_depth', max_depth)):
            if value is not None and value != FROM_PROTOCOL and not isinstance(
                    value, (int, float)):
                raise ValueError(f'{name} must be a number, None or {FROM_PROTOCOL!r}, '
                                 f'got {value!r}')
        self.min_depth = None if min_depth == FROM_PROTOCOL else min_depth
        self.max_depth = None if max_depth == FROM_PROTOCOL else max_depth
        self.crop = crop
        self.alignment = alignment
        self.aggregation = aggregation
        self.global_space = global_space
        self.eigen_crop = eigen_crop
        self.garg_crop = garg_crop
        self.boundary = _boundary_options(boundary)
        self._protocol_summary: Optional[Dict[str, dict]] = None
        self._per_image: List[dict] = []

    # ------------------------------------------------------------------ protocol

    def _resolve_protocol(self, sample) -> DepthProtocol:
        """The protocol applied to one sample: this metric's overrides over the sample's."""
        protocol = protocol_of(sample)
        changes = {}
        if self.min_depth is not None:
            changes['min_depth'] = self.min_depth
        if self.max_depth is not None:
            changes['max_depth'] = None if math.isinf(self.max_depth) else self.max_depth
        if self.crop != FROM_PROTOCOL:
            changes['crop'] = self.crop
        return protocol.replace(**changes) if changes else protocol

    # ------------------------------------------------------------------ per sample

    def _relative_inverse(self, sample, pred: Optional[Tensor], gt: Tensor) -> Tensor:
        rel = _field(sample, 'pred_rel_depth')
        if rel is not None and rel.numel() == gt.numel() and rel.shape[-2:] == gt.shape[-2:]:
            return rel.reshape(gt.shape).to(gt)
        if pred is None:
            raise ValueError(f'alignment {self.alignment!r} needs pred_rel_depth at the GT '
                             'resolution or pred_depth; the sample has neither')
        return 1.0 / pred.clamp_min(DEPTH_EPS)

    def _alignment_input(self, sample, pred: Optional[Tensor], gt: Tensor) -> Tensor:
        """The tensor the alignment fits: a relative inverse depth or ``pred_depth``."""
        inverse = self.alignment == 'lsq_inverse' or (
            self.alignment == 'global' and self.global_space == 'inverse')
        if inverse:
            return self._relative_inverse(sample, pred, gt)
        if pred is None:
            raise ValueError('the sample has no pred_depth')
        return pred

    @staticmethod
    def _clamp(pred: Tensor, protocol: DepthProtocol) -> Tensor:
        return clamp_to_range(pred, protocol.min_depth, protocol.max_depth)

    def process(self, data_batch: Any, data_samples: Sequence[Union[BaseDataElement, dict]]
                ) -> None:
        """Score (or, for ``'global'``, store) each sample of a batch.

        Args:
            data_batch (Any): the dataloader's batch (unused).
            data_samples (Sequence): :class:`~tr2m.structures.DepthDataSample` s or their
                ``to_dict()`` forms (what mmengine's ``Evaluator`` passes), with ``pred_depth``
                (or ``pred_rel_depth``), ``gt_depth``, optionally ``gt_valid``, and metainfo
                ``protocol``, ``run_notes``, ``dataset_name``, ``img_path``.
        """
        for sample in data_samples:
            gt = _field(sample, 'gt_depth')
            if gt is None:
                raise ValueError('DepthMetric needs gt_depth in every data sample')
            gt = gt.double()
            img_path = sample.get('img_path', None)
            pred = _field(sample, 'pred_depth')
            if pred is not None:
                if pred.shape != gt.shape:
                    if pred.numel() != gt.numel() or pred.shape[-2:] != gt.shape[-2:]:
                        raise ValueError(
                            f'pred_depth has shape {tuple(pred.shape)} but gt_depth '
                            f'{tuple(gt.shape)} ({img_path}): predict() must resize the '
                            'prediction to the GT resolution')
                    pred = pred.reshape(gt.shape)
                pred = pred.to(gt)
            try:
                protocol = self._resolve_protocol(sample)
                mask = eval_mask(gt, protocol.min_depth, protocol.max_depth, protocol.crop,
                                 self.eigen_crop, self.garg_crop, sample.get('gt_window', None),
                                 valid=_field(sample, 'gt_valid'))
            except ValueError as err:
                raise ValueError(f'DepthMetric, image {img_path}: {err}') from err
            dataset_name = sample.get('dataset_name', None) or 'unknown'
            record = dict(dataset_name=dataset_name, img_path=img_path, protocol=protocol,
                          notes=notes_of(sample), num_valid=int(mask.sum()))
            if record['num_valid'] == 0:
                self.results.append(record)
                continue
            try:
                record.update(self._process_one(sample, pred, gt, mask, protocol))
            except ValueError as err:
                raise ValueError(f'DepthMetric, image {img_path}: {err}') from err
            self.results.append(record)

    def _process_one(self, sample, pred: Optional[Tensor], gt: Tensor, mask: Tensor,
                     protocol: DepthProtocol) -> dict:
        record = self._process_scores(sample, pred, gt, mask, protocol)
        if self.boundary is not None:
            if pred is None:
                raise ValueError('the boundary metric needs pred_depth; the sample has none')
            record['boundary_counts'] = boundary_counts(
                pred.clamp_min(DEPTH_EPS), gt, mask, self.boundary['thresholds']).cpu()
        return record

    def _process_scores(self, sample, pred: Optional[Tensor], gt: Tensor, mask: Tensor,
                        protocol: DepthProtocol) -> dict:
        if self.alignment == 'none' and pred is None:
            raise ValueError('the sample has no pred_depth')
        if self.alignment == 'global':
            x = self._alignment_input(sample, pred, gt)
            x_valid = x[mask]
            if not bool(torch.isfinite(x_valid).all()):
                raise ValueError('the alignment input has NaN/inf values at valid pixels')
            y = safe_inverse(gt, mask) if self.global_space == 'inverse' else gt
            # float32 storage halves the memory and is exact for float32 predictions and GT
            return dict(fit_sums=scale_shift_sums(x, y, mask).sum(0).cpu(),
                        x=x_valid.float().cpu(), gt=gt[mask].float().cpu())
        if self.alignment == 'none':
            aligned = pred
        elif self.alignment == 'median':
            aligned = align_median(self._alignment_input(sample, pred, gt), gt, mask)
        elif self.alignment == 'lsq':
            aligned = align_lsq(self._alignment_input(sample, pred, gt), gt, mask)
        elif self.alignment == 'lsq_inverse':
            aligned = align_lsq_inverse(self._alignment_input(sample, pred, gt), gt, mask)
        else:
            raise ValueError(f'unknown alignment {self.alignment!r}; valid: {ALIGNMENTS}')
        aligned = self._clamp(aligned, protocol)
        return dict(sums=depth_metric_sums(aligned, gt, mask).cpu())

    # ------------------------------------------------------------------ aggregation

    def _aggregate_all(self, records: List[dict]) -> Dict[str, float]:
        out = aggregate_metric_sums([r['sums'] for r in records], self.aggregation)
        if self.boundary is not None:
            out.update(aggregate_boundary_counts(
                [r['boundary_counts'] for r in records], self.aggregation,
                self.boundary['weights'], self.boundary['reduction'],
                self.boundary['thresholds']))
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Aggregate the processed results (see the class docstring for the keys)."""
        groups: Dict[str, List[dict]] = OrderedDict()
        for record in results:
            groups.setdefault(record['dataset_name'], []).append(record)

        fits = {}
        if self.alignment == 'global':
            for name, records in groups.items():
                used = [r for r in records if r['num_valid'] > 0]
                if not used:
                    continue
                scale, shift = solve_scale_shift(torch.stack([r['fit_sums'] for r in used]).sum(0))
                fits[name] = (float(scale), float(shift))
                for r in used:
                    aligned = apply_scale_shift(r['x'].double(), fits[name][0], fits[name][1],
                                                space=self.global_space,
                                                min_inv=MIN_INV_DEPTH)
                    aligned = self._clamp(aligned, r['protocol'])
                    gt = r['gt'].double()
                    try:
                        r['sums'] = depth_metric_sums(aligned, gt, torch.ones_like(gt, dtype=bool))
                    except ValueError as err:
                        raise ValueError(f'DepthMetric, image {r["img_path"]}: {err}') from err

        skipped = [r for r in results if r['num_valid'] == 0]
        if skipped:
            paths = [str(r['img_path']) for r in skipped]
            shown = ', '.join(paths[:20]) + (f', ... ({len(paths) - 20} more)'
                                             if len(paths) > 20 else '')
            print_log(f'DepthMetric skipped {len(skipped)} of {len(results)} images with no '
                      f'valid GT pixel under their protocol: {shown}', logger='current',
                      level=logging.WARNING)

        metrics: Dict[str, float] = OrderedDict()
        all_used: List[dict] = []
        summary: Dict[str, dict] = OrderedDict()
        self._per_image = []
        for name, records in groups.items():
            used = [r for r in records if r['num_valid'] > 0]
            all_used.extend(used)
            if len(groups) > 1:
                for k, v in self._aggregate_all(used).items():
                    metrics[f'{name}/{k}'] = v
            for r in used:
                entry = dict(dataset_name=name, img_path=r['img_path'], num_valid=r['num_valid'],
                             **metrics_from_sums(r['sums']))
                if self.boundary is not None:
                    entry.update(aggregate_boundary_counts(
                        [r['boundary_counts']], 'pixel', self.boundary['weights'],
                        self.boundary['reduction'], self.boundary['thresholds']))
                self._per_image.append(entry)
            summary[name] = self._summarise(name, records, len(used), fits.get(name))
        if not all_used:
            print_log('DepthMetric: no image had a valid GT pixel; every metric is NaN',
                      logger='current', level=logging.WARNING)
        metrics.update(self._aggregate_all(all_used))
        self._protocol_summary = summary
        return dict(metrics)

    def _summarise(self, name: str, records: List[dict], count: int, fit) -> dict:
        protocols = [r['protocol'] for r in records]
        entry = dict(dataset=name, count=count, skipped=len(records) - count)
        for key in SUMMARY_FIELDS:
            if key == 'crop_convention':
                values = [crop_convention(p.crop, self.eigen_crop, self.garg_crop)
                          for p in protocols]
            else:
                values = [getattr(p, key) for p in protocols]
            entry[key] = _distinct(values)
            if isinstance(entry[key], list):
                print_log(f'DepthMetric: images of {name!r} use different {key} values '
                          f'{entry[key]}', logger='current', level=logging.WARNING)
        entry.update(alignment=self.alignment, aggregation=self.aggregation)
        if self.boundary is not None:
            entry['boundary'] = dict(self.boundary, thresholds=list(self.boundary['thresholds']),
                                     input='pred_depth (before alignment and clamping)')
        if self.alignment == 'global':
            entry.update(global_space=self.global_space,
                         global_scale=None if fit is None else fit[0],
                         global_shift=None if fit is None else fit[1])
        # the protocol's name and split, then the run notes: recorded when set
        extras = [dict(name=p.name, split=p.split) for p in protocols]
        for r, e in zip(records, extras):
            e.update(r['notes'].to_dict())
        keys: List[str] = []
        for e in extras:
            keys += [k for k, v in e.items() if v is not None and k not in keys]
        for key in keys:
            entry[key] = _distinct([e.get(key) for e in extras])
        return entry

    # ------------------------------------------------------------------ reports

    def protocol_summary(self) -> Dict[str, dict]:
        """What the last :meth:`compute_metrics` evaluated, per ``dataset_name``.

        Returns:
            dict: ``{dataset_name: dict(dataset, count, skipped, crop, crop_convention,
            min_depth, max_depth, units, alignment, aggregation[, boundary][, global_space,
            global_scale, global_shift][, name, split][, run notes])}``. ``crop_convention`` is
            ``'fixed'`` / ``'scaled'`` for the Eigen crop, ``'gt_frame'`` / ``'full_frame'`` for
            the Garg crop and None without a crop; ``boundary`` (when enabled) holds the
            boundary metric's thresholds, weights, reduction and input. ``count`` is the
            number of scored images, ``skipped`` those without a valid pixel; ``max_depth``
            None means no upper bound. A field whose value differs between images of a
            dataset holds the list of distinct values.
            The protocol's ``name`` and ``split`` and the samples' run notes (``caption_index``,
            ``caption_swap``, ``caption_swap_seed``, ``tta``, ``tta_merge``) are recorded when
            set.

        Raises:
            RuntimeError: :meth:`compute_metrics` has not run (in distributed runs it only runs
            on the main process).
        """
        if self._protocol_summary is None:
            raise RuntimeError('protocol_summary() is available after evaluate() / '
                               'compute_metrics()')
        return {k: dict(v) for k, v in self._protocol_summary.items()}

    def per_image_metrics(self) -> List[dict]:
        """Per-image metrics of the last :meth:`compute_metrics`: one dict per scored image
        with ``dataset_name``, ``img_path``, ``num_valid`` and the metric keys (and the
        boundary keys when enabled)."""
        return [dict(r) for r in self._per_image]
