"""Cross-modality attention neck (TR2M eq. 1-2)."""
import math
from typing import Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.models.encoders.text_base import TextEmbedding
from tr2m.registry import MODELS


def cross_modal_attention(img: Tensor, txt: Optional[Tensor], txt_mask: Optional[Tensor],
                          q_proj: nn.Module, k_img: nn.Module, v_img: nn.Module,
                          k_txt: nn.Module, v_txt: nn.Module, num_heads: int,
                          use_image: bool = True) -> Tensor:
    """``F_out = F_I + Attn^I + Attn^L`` with ``Attn^i = softmax(Q_I K_i^T / sqrt(d)) V_i``.

    Args:
        img (Tensor): image tokens ``(B, N, D)``.
        txt (Tensor, optional): text tokens already in width D, ``(B, T, D)``; None skips
            ``Attn^L``.
        txt_mask (Tensor, optional): bool ``(B, T)``, True for real tokens.
        num_heads (int): heads; ``d = D / num_heads``.
        use_image (bool): include ``F_I + Attn^I``; False leaves ``Attn^L`` alone (the
            text-only ablation; queries still come from the image). Defaults to True.

    Returns:
        Tensor: ``(B, N, D)``.
    """
    b, n, dim = img.shape
    d = dim // num_heads
    split = lambda x: x.view(b, x.shape[1], num_heads, d).transpose(1, 2)  # noqa: E731
    q = split(q_proj(img))  # (B, h, N, d)
    out = img if use_image else torch.zeros_like(img)
    if use_image:
        attn = torch.softmax(q @ split(k_img(img)).transpose(-1, -2) / math.sqrt(d), dim=-1)
        out = out + (attn @ split(v_img(img))).transpose(1, 2).reshape(b, n, dim)
    if txt is not None:
        logits = q @ split(k_txt(txt)).transpose(-1, -2) / math.sqrt(d)  # (B, h, N, T)
        if txt_mask is not None:
            logits = logits.masked_fill(~txt_mask[:, None, None, :], float('-inf'))
        attn = torch.softmax(logits, dim=-1)
        out = out + (attn @ split(v_txt(txt))).transpose(1, 2).reshape(b, n, dim)
    return out


@MODELS.register_module()
class CrossModalAttentionNeck(BaseModule):
    """Fuse image patch tokens with the caption by attention, queries from the image.

    With the pooled text embedding (one token), ``Attn^L`` is that token's value at every
    pixel; ``text_tokens='all'`` attends over every text token instead (then ``text_channels``
    is the encoder's per-token width, which TR2M fills in).

    Parameters: the paper's ~19M trainable parameters are the two decoders (~18.9M) and the
    SOC projector (~0.19M), which leaves no room for learnt attention projections (five
    1024 x 1024 linears would add 5.2M), so by default Q, K and V are the features themselves
    (eq. 1-2 as written) and the only parameters are the text linear D' -> D (0.79M for CLIP
    ViT-L/14's 768 -> DINOv2-L's 1024). ``qkv_proj=True`` is the learnt variant.

    Args:
        in_channels (int): image token width D.
        text_channels (int, optional): text embedding width D'; a linear layer maps it to D
            when they differ (DESIGN.md section 1). Only needed when 'text' is among
            ``modalities``. Defaults to None.
        num_heads (int): attention heads. Defaults to 1 (the paper's equations).
        qkv_proj (bool): learn linear Q/K/V projections; False uses the features themselves
            (parameter-free attention). Defaults to False.
        text_tokens (str): 'pooled' or 'all'. Defaults to 'pooled'.
        modalities (Sequence[str]): which attention terms to add, a subset of
            ('image', 'text'): the paper's Table 5 ablation. Defaults to ('image', 'text').
    """

    def __init__(self, in_channels: int, text_channels: Optional[int] = None, num_heads: int = 1,
                 qkv_proj: bool = False, text_tokens: str = 'pooled',
                 modalities: Sequence[str] = ('image', 'text'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if text_tokens not in ('pooled', 'all'):
            raise ValueError(f"text_tokens must be 'pooled' or 'all', got {text_tokens!r}")
        bad = set(modalities) - {'image', 'text'}
        if bad or not modalities:
            raise ValueError(f"modalities must be a non-empty subset of ('image', 'text'), "
                             f'got {modalities!r}')
        if 'text' in modalities and text_channels is None:
            raise ValueError("CrossModalAttentionNeck uses 'text' but got no text_channels")
        if in_channels % num_heads:
            raise ValueError(f'in_channels {in_channels} not divisible by num_heads {num_heads}')
        self.in_channels = in_channels
        self.out_channels = in_channels
        self.num_heads = num_heads
        self.text_tokens = text_tokens
        self.modalities = tuple(modalities)
        self.text_proj = (nn.Linear(text_channels, in_channels)
                          if text_channels != in_channels and 'text' in modalities
                          else nn.Identity())
        self.qkv_proj = qkv_proj

        def make(used: bool = True) -> nn.Module:
            # no parameters for an unused modality (they would never get a gradient)
            return nn.Linear(in_channels, in_channels) if qkv_proj and used else nn.Identity()

        self.q_proj = make()
        self.k_img, self.v_img = make('image' in modalities), make('image' in modalities)
        self.k_txt, self.v_txt = make('text' in modalities), make('text' in modalities)

    def forward(self, img_feats: Tensor, text: Optional[TextEmbedding] = None) -> Tensor:
        """``(B, D, h, w)`` image features (+ caption embedding) -> fused ``(B, D, h, w)``."""
        b, dim, h, w = img_feats.shape
        tokens = img_feats.flatten(2).transpose(1, 2)  # (B, N, D)
        txt = mask = None
        if 'text' in self.modalities:
            if text is None:
                raise ValueError('CrossModalAttentionNeck uses text but got no caption embedding')
            if self.text_tokens == 'pooled':
                txt, mask = text.pooled[:, None], None  # (B, 1, D')
            else:
                txt, mask = text.tokens, text.mask
            txt = self.text_proj(txt.to(tokens.dtype))
        out = cross_modal_attention(tokens, txt, mask, self.q_proj, self.k_img, self.v_img,
                                    self.k_txt, self.v_txt, self.num_heads,
                                    use_image='image' in self.modalities)
        return out.transpose(1, 2).reshape(b, dim, h, w)
