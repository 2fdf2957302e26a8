"""One Mask2Former transformer-decoder layer: masked cross-attention, self-attention, FFN."""
from typing import Optional

from torch import Tensor, nn


class MaskedDecoderLayer(nn.Module):
    """Queries read the image (cross-attention restricted by a mask), then each other.

    Order and normalisation as Mask2Former: cross-attention -> LayerNorm -> self-attention ->
    LayerNorm -> FFN -> LayerNorm, each with a residual. Positional embeddings are added to
    queries and keys, never to values.

    Args:
        channels (int): width C. Defaults to 256.
        num_heads (int): heads. Defaults to 8.
        ffn_channels (int): FFN hidden width. Defaults to 2048.
        dropout (float): attention / FFN dropout. Defaults to 0.0.
    """

    def __init__(self, channels: int = 256, num_heads: int = 8, ffn_channels: int = 2048,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.cross_attn = nn.MultiheadAttention(channels, num_heads, dropout=dropout,
                                                batch_first=True)
        self.self_attn = nn.MultiheadAttention(channels, num_heads, dropout=dropout,
                                               batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(channels, ffn_channels), nn.ReLU(inplace=True),
                                 nn.Dropout(dropout), nn.Linear(ffn_channels, channels),
                                 nn.Dropout(dropout))
        self.norms = nn.ModuleList(nn.LayerNorm(channels) for _ in range(3))

    def forward(self, query: Tensor, key: Tensor, query_pos: Tensor, key_pos: Tensor,
                attn_mask: Optional[Tensor] = None) -> Tensor:
        """Update the queries.

        Args:
            query (Tensor): ``(B, N, C)``.
            key (Tensor): image tokens ``(B, S, C)`` (also the values).
            query_pos (Tensor): ``(B, N, C)``.
            key_pos (Tensor): ``(B, S, C)``.
            attn_mask (Tensor, optional): bool ``(B * heads, N, S)``, True = may NOT attend.

        Returns:
            Tensor: ``(B, N, C)``.
        """
        x = query + self.cross_attn(query + query_pos, key + key_pos, key, attn_mask=attn_mask,
                                    need_weights=False)[0]
        x = self.norms[0](x)
        q = x + query_pos
        x = self.norms[1](x + self.self_attn(q, q, x, need_weights=False)[0])
        return self.norms[2](x + self.ffn(x))
