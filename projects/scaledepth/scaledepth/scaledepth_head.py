"""ScaleDepth's decode head: pixel decoder, bin + scale queries, one transformer decoder.

As released (a Mask2Former head): ``num_bin_queries`` bin queries (64) and
``num_scale_queries`` scale queries (3) share one query set and one 9-layer transformer
decoder (256 wide, 8 heads, FFN 2048); layer ``i`` cross-attends to pixel-decoder level
``i % 3`` (coarsest first). The bin queries' cross-attention is masked by the previous layer's
masks (mask-guided attention, ARDE); the scale queries attend everywhere (SASP). After every
layer the bin queries give a relative depth map (:class:`AdaptiveBinHead`) and the scale
queries a scene scale and scene logits (:class:`SemanticScalePredictor`), which the loss
supervises at the last layer and at auxiliary layers.
"""
from typing import List, NamedTuple, Optional, Sequence

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.registry import MODELS

from .arde import AdaptiveBinHead, attention_mask
from .masked_decoder_layer import MaskedDecoderLayer
from .pixel_decoder import MSDeformAttnPixelDecoder  # noqa: F401 - registers it
from .sasp import SemanticScalePredictor
from .sine_position import sine_position_encoding


class ScaleDepthOutputs(NamedTuple):
    """Per-decoder-layer predictions (lists of length ``num_layers``, first layer first).

    Attributes:
        rel_depth (list[Tensor]): relative depth ``(B, 1, H/4, W/4)`` in the normalised space.
        scale (list[Tensor]): scene scale ``(B, 1)`` (m).
        scene_logits (list[Tensor]): scene-category logits ``(B, K)``.
        bin_edges (list[Tensor]): ``(B, N + 1)``.
    """

    rel_depth: List[Tensor]
    scale: List[Tensor]
    scene_logits: List[Tensor]
    bin_edges: List[Tensor]


@MODELS.register_module()
class ScaleDepthHead(BaseModule):
    """Bin and scale queries over the pixel decoder's levels (see the module docstring).

    Args:
        in_channels (Sequence[int]): backbone channels, finest level first.
        text_channels (int): width of the scene text embeddings.
        channels (int): query / decoder width. Defaults to 256.
        num_bin_queries (int): bin queries N. Defaults to 64 (released NK config).
        num_scale_queries (int): scale queries. Defaults to 3.
        num_layers (int): transformer decoder layers. Defaults to 9.
        num_heads (int): attention heads. Defaults to 8.
        ffn_channels (int): decoder FFN width. Defaults to 2048.
        pixel_decoder (dict, optional): the pixel decoder (``type`` defaults to
            :class:`MSDeformAttnPixelDecoder`; ``in_channels`` and ``channels`` come from
            here). It returns ``(mask_features, levels coarsest first)`` and has
            ``num_encoder_levels``. Defaults to None (its defaults: 6 layers).
        min_depth (float): first bin edge. Defaults to 1e-3.
        bin_norm (str): bin-width normalisation. Defaults to 'softmax'.
        temperature (float): similarity logit scale. Defaults to 100.0.
        scale_eps (float): smallest scene scale (m). Defaults to 0.1.
    """

    def __init__(self, in_channels: Sequence[int], text_channels: int, channels: int = 256,
                 num_bin_queries: int = 64, num_scale_queries: int = 3, num_layers: int = 9,
                 num_heads: int = 8, ffn_channels: int = 2048,
                 pixel_decoder: Optional[dict] = None, min_depth: float = 1e-3,
                 bin_norm: str = 'softmax', temperature: float = 100.0,
                 scale_eps: float = 0.1, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        pixel_decoder = dict(dict(type='MSDeformAttnPixelDecoder'), **(pixel_decoder or {}))
        self.pixel_decoder = MODELS.build(dict(pixel_decoder, in_channels=list(in_channels),
                                               channels=channels))
        self.num_levels = self.pixel_decoder.num_encoder_levels
        self.num_bin_queries, self.num_scale_queries = num_bin_queries, num_scale_queries
        self.num_heads = num_heads
        n = num_bin_queries + num_scale_queries
        self.query_feat = nn.Embedding(n, channels)
        self.query_embed = nn.Embedding(n, channels)
        self.level_embed = nn.Embedding(self.num_levels, channels)
        self.layers = nn.ModuleList(MaskedDecoderLayer(channels, num_heads, ffn_channels)
                                    for _ in range(num_layers))
        self.arde = AdaptiveBinHead(channels, channels, min_depth, bin_norm)
        self.sasp = SemanticScalePredictor(channels, num_scale_queries, text_channels,
                                           temperature, scale_eps)
        for p in self.layers.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, feats: Sequence[Tensor], text_embeddings: Tensor) -> ScaleDepthOutputs:
        """Backbone levels (finest first) and ``(K, D)`` text embeddings -> per-layer outputs."""
        mask_features, levels = self.pixel_decoder(feats)  # (B, C, H/4, W/4), coarsest first
        b = mask_features.shape[0]
        keys, key_pos = [], []
        for i, x in enumerate(levels):
            h, w = x.shape[-2:]
            keys.append(x.flatten(2).transpose(1, 2) + self.level_embed.weight[i])
            key_pos.append(sine_position_encoding(h, w, x.shape[1] // 2, device=x.device,
                                                  dtype=x.dtype).flatten(2).transpose(1, 2))
        query = self.query_feat.weight[None].expand(b, -1, -1)
        query_pos = self.query_embed.weight[None].expand(b, -1, -1)
        nb = self.num_bin_queries
        _, masks = self.arde(query[:, :nb], mask_features)
        mask = attention_mask(masks, levels[0].shape[-2:], self.num_heads)
        out = ScaleDepthOutputs([], [], [], [])
        for i, layer in enumerate(self.layers):
            lvl = i % self.num_levels
            mask = mask & ~mask.all(-1, keepdim=True)  # a query masked everywhere sees all
            full = F.pad(mask, (0, 0, 0, self.num_scale_queries), value=False)
            query = layer(query, keys[lvl], query_pos, key_pos[lvl].expand(b, -1, -1), full)
            bins, masks = self.arde(query[:, :nb], mask_features)
            mask = attention_mask(masks, levels[(i + 1) % self.num_levels].shape[-2:],
                                  self.num_heads)
            rel, edges = self.arde.depth(bins, masks)
            scale, logits = self.sasp(query[:, nb:], text_embeddings)
            out.rel_depth.append(rel)
            out.bin_edges.append(edges)
            out.scale.append(scale)
            out.scene_logits.append(logits)
        return out
