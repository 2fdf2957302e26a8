"""ScaleDepth's text-image similarity loss: cross-entropy of the scene-category similarity.

The scale queries' similarities to the K scene prompts (``logits``, ``(B, K)``) are trained
to pick the image's scene category. The released code turns the logits into probabilities
(``softmax``) and hands them to a cross-entropy that applies its own softmax, i.e. it computes
``CE(softmax(logits), y) = -log softmax(softmax(logits))_y`` (``softmax_first=True``, what
ran). The paper's reading, ``CE(logits, y)``, is ``softmax_first=False``. Samples labelled -1
(no scene category) are skipped; the loss is their mean over the labelled ones.
"""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn

from tr2m.registry import MODELS


def text_image_similarity_loss(logits: Tensor, labels: Tensor,
                               softmax_first: bool = True) -> Tensor:
    """Cross-entropy over the labelled samples.

    Args:
        logits (Tensor): ``(B, K)`` similarity logits.
        labels (Tensor): ``(B,)`` long, -1 = unlabelled.
        softmax_first (bool): cross-entropy of ``softmax(logits)`` (released) instead of the
            logits. Defaults to True.

    Returns:
        Tensor: scalar, the mean over labelled samples (0 with a gradient path when none is).
    """
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f'logits must be (B, K) and labels (B,), got {tuple(logits.shape)} and '
                         f'{tuple(labels.shape)}')
    keep = labels >= 0
    if not keep.any():
        return logits.new_zeros(()) + logits.sum() * 0  # +0 with a gradient path
    x = logits[keep].softmax(-1) if softmax_first else logits[keep]
    return F.cross_entropy(x, labels[keep])


def scene_accuracy(logits: Tensor, labels: Tensor) -> Optional[Tensor]:
    """Top-1 accuracy of ``(B, K)`` logits over the labelled samples (None when none is)."""
    keep = labels >= 0
    if not keep.any():
        return None
    return (logits[keep].argmax(-1) == labels[keep]).float().mean()


@MODELS.register_module()
class TextImageSimilarityLoss(nn.Module):
    """Registered wrapper of :func:`text_image_similarity_loss` (returns the loss only).

    Args:
        loss_weight (float): multiplier. Defaults to 0.01 (released).
        softmax_first (bool): cross-entropy of the probabilities, as released. Defaults to True.
    """

    def __init__(self, loss_weight: float = 0.01, softmax_first: bool = True) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.softmax_first = softmax_first

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        return self.loss_weight * text_image_similarity_loss(logits, labels, self.softmax_first)


__all__ = ['TextImageSimilarityLoss', 'text_image_similarity_loss', 'scene_accuracy']
