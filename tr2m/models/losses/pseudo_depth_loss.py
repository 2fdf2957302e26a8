"""Threshold-based pseudo-depth SI-log loss (TR2M eq. 5-6, appendix A.3.2).

A frozen relative-depth model's output ``rel`` is aligned to the sparse metric GT by one
closed-form least-squares ``(alpha, beta)`` per image. Where the aligned map agrees well with the
GT (delta1 > ``rho``) it becomes a dense pseudo target, so the metric prediction is also
supervised where the GT has holes (sky, glass, LiDAR gaps).
"""
from typing import Tuple, Union

import torch
from torch import Tensor, nn

from tr2m.functional import delta1_per_image, fit_scale_shift, float32_math
from tr2m.registry import MODELS

from .silog_loss import REDUCTIONS, silog_form_args, silog_loss

SPACES = ('inverse', 'depth')


@float32_math
def pseudo_metric_depth(rel: Tensor, gt: Tensor, valid_mask: Tensor,
                        space: str = 'inverse') -> Tuple[Tensor, Tensor]:
    """Align a relative map to the GT per image (eq. 5) and measure the fit's delta1 (eq. 6).

    ``space='inverse'`` fits ``alpha * rel + beta ~ 1 / gt`` and returns
    ``pseudo = 1 / (alpha * rel + beta)`` (consistent with eq. 3 and MiDaS); ``space='depth'``
    fits ``alpha * rel + beta ~ gt`` and returns ``pseudo = alpha * rel + beta`` (the paper's
    literal eq. 5). ``pseudo`` is returned as computed, so it may be non-positive or inf where the
    affine map leaves the positive range; callers use only its positive, finite pixels.

    The GT pixels used are ``valid_mask & isfinite(gt) & (gt > 0)``; the fit is
    :func:`tr2m.functional.fit_scale_shift` (an image without a valid pixel gets the identity
    ``(1, 0)``, as in the evaluation's alignments). ``delta1`` is the per-image fraction of those
    pixels with ``max(pseudo / gt, gt / pseudo) < 1.25``
    (:func:`tr2m.functional.delta1_per_image`); a non-positive or non-finite ``pseudo`` counts
    as a failure, and an image with no valid GT gets ``delta1 = 0``. The inverse is taken
    without the inverse-depth floor on purpose: a fit that leaves the positive range gives a
    non-positive or infinite ``pseudo``, which is no target, instead of a floored 1e8 m one.
    Gradients flow through the computation; detach or use ``torch.no_grad()`` for a target.

    Args:
        rel (Tensor): relative map ``(..., H, W)`` (relative inverse depth for ``'inverse'``).
        gt (Tensor): metric GT depth ``(..., H, W)``; invalid pixels may hold anything.
        valid_mask (Tensor): bool, broadcastable with ``gt``.
        space (str): ``'inverse'`` or ``'depth'``. Defaults to ``'inverse'``.

    Returns:
        tuple[Tensor, Tensor]: ``pseudo`` of the broadcast shape ``(..., H, W)`` and ``delta1``
        of shape ``(...)``.
    """
    if space not in SPACES:
        raise ValueError(f'space must be one of {SPACES}, got {space!r}')
    rel, gt, valid = torch.broadcast_tensors(rel, gt, valid_mask.bool())
    valid = valid & torch.isfinite(gt) & (gt > 0)
    safe_gt = torch.where(valid, gt, torch.ones_like(gt))
    if space == 'inverse':
        alpha, beta = fit_scale_shift(rel, 1.0 / safe_gt, valid)
        pseudo = 1.0 / (alpha[..., None, None] * rel + beta[..., None, None])
    else:
        alpha, beta = fit_scale_shift(rel, safe_gt, valid)
        pseudo = alpha[..., None, None] * rel + beta[..., None, None]
    return pseudo, delta1_per_image(pseudo, safe_gt, valid)


@MODELS.register_module()
class ThresholdedPseudoDepthLoss(nn.Module):
    """Threshold-based pseudo-depth SI-log loss ``L_tp-si`` (TR2M eq. 5-6, A.3.2).

    For each image, ``rel`` is aligned to the GT with :func:`pseudo_metric_depth`. Images whose
    fit reaches ``delta1 > rho`` on at least ``min_valid`` valid GT pixels pass the gate and get
    ``L_si(pred, pseudo)`` (:func:`silog_loss`, in the same form as the model's ``L_si``) over
    **all** pixels where ``pseudo`` is positive, finite and at most the depth cap; the loss is
    the mean over passing images, the others contribute nothing. The pseudo depth is a target:
    no gradient flows into ``rel``, ``gt`` or the fit. With no passing image the loss is an
    exact zero still connected to ``pred``'s graph.

    The cap: an inverse-space fit sends pixels with ``Dr ~ 0`` (KITTI sky) to 10^3-10^6 m, and a
    negative fitted intercept makes them vanish; by default each image's targets stop at its
    dataset protocol's ``max_depth`` (10 m NYUv2, 80 m KITTI, ...), which the depther passes in.

    ``forward`` returns ``(loss, passed)``: ``passed`` is the detached per-image gate ``(B,)``
    (1.0 = passed), which TR2M logs as ``pseudo_pass_frac`` overall and per dataset.

    Args:
        rho (float): delta1 gate; the paper leaves it open. Defaults to 0.9.
        space (str): ``'inverse'`` (fit in inverse depth) or ``'depth'`` (paper's literal
            eq. 5). Defaults to ``'inverse'``.
        form (str): SI-log form, as :class:`SiLogLoss`. Defaults to 'paper'.
        lambd (float): ``lambd`` of the paper form. Defaults to 0.15.
        beta (float): ``beta`` of the ZoeDepth form. Defaults to 0.15.
        reduction (str): as :class:`SiLogLoss`. Defaults to 'image'.
        min_valid (int): minimum number of valid GT pixels for an image to be gated in.
            Defaults to 16.
        max_depth (float | str | None): pseudo depths above this (in GT units) are not used
            as targets: ``'protocol'`` takes the cap given to ``forward`` (the depther passes
            each sample's protocol ``max_depth``), a number fixes it, None uses every positive,
            finite value. Defaults to ``'protocol'``.
        loss_weight (float): multiplier. Defaults to 0.5 (paper).
    """

    def __init__(self, rho: float = 0.9, space: str = 'inverse', form: str = 'paper',
                 lambd: float = 0.15, beta: float = 0.15, reduction: str = 'image',
                 min_valid: int = 16, max_depth: Union[float, str, None] = 'protocol',
                 loss_weight: float = 0.5) -> None:
        super().__init__()
        if space not in SPACES:
            raise ValueError(f'space must be one of {SPACES}, got {space!r}')
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
        if isinstance(max_depth, str) and max_depth != 'protocol':
            raise ValueError(f"max_depth must be a number, 'protocol' or None, got {max_depth!r}")
        self.rho = rho
        self.space = space
        self.form = form
        self.silog_kwargs = dict(silog_form_args(form, lambd, beta), reduction=reduction)
        self.min_valid = min_valid
        self.max_depth = max_depth
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, rel: Tensor, gt: Tensor, valid_mask: Tensor,
                max_depth: Union[Tensor, float, None] = None) -> Tuple[Tensor, Tensor]:
        """Compute the loss.

        Args:
            pred (Tensor): predicted metric depth ``(B, 1, H, W)`` (or ``(B, H, W)``), positive.
            rel (Tensor): relative inverse depth of the frozen model, same shape as ``pred``
                (any positive-affine relative map for ``space='depth'``).
            gt (Tensor): metric GT depth, same shape as ``pred``; invalid pixels may hold
                anything.
            valid_mask (Tensor): bool GT validity, broadcastable to ``pred``.
            max_depth (Tensor | float, optional): the cap used when the module's ``max_depth``
                is ``'protocol'``: one number, or one per image ``(B,)`` (``inf`` = no cap).

        Returns:
            tuple[Tensor, Tensor]: weighted scalar loss, and the per-image gate ``(B,)``
            (float, detached).
        """
        if not pred.shape == rel.shape == gt.shape:
            raise ValueError(f'pred, rel and gt must have one shape, got {tuple(pred.shape)}, '
                             f'{tuple(rel.shape)} and {tuple(gt.shape)}')
        cap = max_depth if self.max_depth == 'protocol' else self.max_depth
        with torch.no_grad():
            pseudo, delta1 = pseudo_metric_depth(rel.detach(), gt.detach(), valid_mask,
                                                 self.space)
            pseudo = torch.broadcast_to(pseudo, pred.shape)
            valid = torch.broadcast_to(valid_mask.bool(), gt.shape) & torch.isfinite(gt) & (gt > 0)
            n_valid = valid.flatten(-2).sum(-1)
            gate = (delta1 > self.rho) & (n_valid >= self.min_valid)  # (B, ...)
            target_mask = gate[..., None, None] & torch.isfinite(pseudo) & (pseudo > 0)
            if cap is not None:
                cap = torch.as_tensor(cap, dtype=pseudo.dtype, device=pseudo.device)
                cap = cap.reshape(-1, *([1] * (pseudo.dim() - 1))) if cap.dim() else cap
                target_mask &= pseudo <= cap
            target_mask = torch.broadcast_to(target_mask, pred.shape)
            passed = gate.float().reshape(gate.shape[0], -1).amax(1) if gate.dim() else gate
        loss = silog_loss(pred, pseudo, target_mask, **self.silog_kwargs)
        return self.loss_weight * loss, passed
