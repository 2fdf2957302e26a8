"""SASP, semantic-aware scale prediction: the scene scale S and the scene-category logits.

The scale queries (3 of width 256 as released) are concatenated into one vector per image
``q`` (768 wide: the width of CLIP ConvNeXt-L's text embeddings). Then, as released,

- ``S = relu(W q + b) + 0.1`` (metres; at least 0.1);
- ``logits = 100 * q @ T^T`` with ``T`` the (K, 768) text embeddings of the K scene prompts:
  CLIP's zero-shot form, with CLIP's logit scale 100, the query not normalised.

When ``num_queries * channels`` differs from the text width (small presets, other text
encoders), a linear map takes ``q`` to the text width first; the released widths need none.
"""
from typing import Optional, Tuple

import torch.nn.functional as F
from torch import Tensor, nn

from tr2m.registry import MODELS


def scene_similarity_logits(queries: Tensor, text_embeddings: Tensor,
                            temperature: float = 100.0) -> Tensor:
    """``temperature * q @ T^T``: ``(B, D)`` x ``(K, D)`` -> ``(B, K)``."""
    return temperature * queries @ text_embeddings.t()


def scene_scale(x: Tensor, eps: float = 0.1) -> Tensor:
    """``relu(x) + eps``: a positive scale from a linear output ``(B, 1)``."""
    return F.relu(x) + eps


@MODELS.register_module()
class SemanticScalePredictor(nn.Module):
    """Scene scale and scene-category logits from the scale queries (see the module doc).

    Args:
        channels (int): width of one query. Defaults to 256.
        num_queries (int): scale queries. Defaults to 3.
        text_channels (int, optional): width of the text embeddings; None = ``num_queries *
            channels`` (no projection). Defaults to None.
        temperature (float): logit scale of the similarity. Defaults to 100.0 (CLIP's).
        scale_eps (float): smallest scale (m). Defaults to 0.1.
    """

    def __init__(self, channels: int = 256, num_queries: int = 3,
                 text_channels: Optional[int] = None, temperature: float = 100.0,
                 scale_eps: float = 0.1) -> None:
        super().__init__()
        width = channels * num_queries
        self.num_queries = num_queries
        self.scale_fc = nn.Linear(width, 1)
        text_channels = width if text_channels is None else text_channels
        self.text_proj = nn.Identity() if text_channels == width else nn.Linear(width,
                                                                                text_channels)
        self.text_channels = text_channels
        self.temperature = temperature
        self.scale_eps = scale_eps

    def forward(self, queries: Tensor, text_embeddings: Tensor) -> Tuple[Tensor, Tensor]:
        """``(B, num_queries, C)`` scale queries, ``(K, D)`` text embeddings -> scale
        ``(B, 1)`` and logits ``(B, K)``."""
        flat = queries.flatten(1)  # (B, num_queries * C)
        scale = scene_scale(self.scale_fc(flat), self.scale_eps)
        logits = scene_similarity_logits(self.text_proj(flat), text_embeddings.to(flat),
                                         self.temperature)
        return scale, logits


__all__ = ['SemanticScalePredictor', 'scene_similarity_logits', 'scene_scale']
