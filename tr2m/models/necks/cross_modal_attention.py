"""Cross-modality attention neck (TR2M eq. 1-2)."""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from tr2m.models.encoders.text_base import TextEmbedding
from tr2m.registry import MODELS

TEXT_TOKENS = ('pooled', 'all')
#: Attention implementations: ``'sdpa'`` (``F.scaled_dot_product_attention``: flash /
#: memory-efficient kernels on CUDA, a blocked flash kernel on CPU; memory linear in the
#: tokens) and ``'explicit'`` (the written-out ``softmax(q k^T) v``, which keeps the
#: ``(B, heads, N, T)`` probabilities for backward; the reference).
ATTENTION_IMPLS = ('sdpa', 'explicit')


def multi_head_attention(q: Tensor, k: Tensor, v: Tensor, num_heads: int,
                         key_mask: Optional[Tensor] = None, impl: str = 'sdpa') -> Tensor:
    """``softmax(Q K^T / sqrt(d)) V`` per head, ``d = width / num_heads`` (eq. 1).

    Args:
        q (Tensor): queries ``(B, N, E)``.
        k (Tensor): keys ``(B, T, E)``.
        v (Tensor): values ``(B, T, E)``.
        num_heads (int): heads; ``E`` must be divisible by it.
        key_mask (Tensor, optional): bool ``(B, T)``, True for real (non-padding) keys.
        impl (str): 'sdpa' or 'explicit' (:data:`ATTENTION_IMPLS`); equal to 1e-5
            (``tests/test_models/test_necks/``). Defaults to 'sdpa'.

    Returns:
        Tensor: ``(B, N, E)``, the heads concatenated.
    """
    b, n, width = q.shape
    d = width // num_heads

    def split(x: Tensor) -> Tensor:
        return x.reshape(b, x.shape[1], num_heads, d).transpose(1, 2)  # (B, h, L, d)

    if impl == 'sdpa':
        mask = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, T)
        out = F.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=mask)
    elif impl == 'explicit':
        logits = split(q) @ split(k).transpose(-1, -2) / math.sqrt(d)  # (B, h, N, T)
        if key_mask is not None:
            logits = logits.masked_fill(~key_mask[:, None, None, :], float('-inf'))
        out = torch.softmax(logits, dim=-1) @ split(v)  # (B, h, N, d)
    else:
        raise ValueError(f'attention impl must be one of {ATTENTION_IMPLS}, got {impl!r}')
    return out.transpose(1, 2).reshape(b, n, width)


@MODELS.register_module()
class CrossModalAttentionNeck(BaseModule):
    """Fuse image patch tokens with the caption: ``F_out = F_I + Attn^I + Attn^L`` (eq. 2).

    Queries always come from the image tokens. Learnt form (``qkv_proj=True``, the paper
    config): pre-norm as in ViTs -- ``Q = W_q LN(F_I)``, ``K_I, V_I = W_k, W_v LN(F_I)``,
    ``K_L, V_L = W_k', W_v' LN(F_L)`` -- multi-head attention with head dimension
    ``d = head_dim`` (eq. 1's ``sqrt(d)``), and an output projection per modality back to the
    image width D. The residual is the raw ``F_I``. Section 3.3's momentum branch copies "the
    rescale model encoder", which needs this neck to have parameters, and the scale-oriented
    contrast can only reorganise the per-pixel features the heads read through them.

    With the pooled caption (one text token) the softmax over it is 1, so ``Attn^L`` is
    ``W_o' V_L`` at every pixel and ``K_L`` would never receive a gradient: it is only built for
    ``text_tokens='all'`` (which attends over every token, padding masked).

    Parameter-free form (``qkv_proj=False``, the ablation of the earlier reading of eq. 1-2):
    Q = K = V = the features and a linear layer maps the text width D' to D. Measured on the
    paper architecture (random weights), 0.94-1.0 of each LayerNorm'd 1024-wide token's softmax
    weight falls on itself, so ``F_out ~ 2 F_I + W F_L``, and SOC's gradient reached only the
    text linear, which adds one vector per image: SOC could not change the depth.

    The key projections have no bias: ``q . b_k`` is the same for every key of a query, so the
    softmax cancels it and its gradient is exactly zero (Adam would only amplify rounding
    noise into it). Parameters of the paper setting (D = 1024, D' = 768, 16 heads of 64):
    ``W_q``, ``W_v``, ``W_o`` 1.05M each, ``W_k`` 1.05M (no bias), ``W_v'`` 0.79M, ``W_o'``
    1.05M, LayerNorms 3.6k: 6.04M.

    Args:
        in_channels (int): image token width D.
        text_channels (int, optional): text embedding width D'; only needed when 'text' is
            among ``modalities``. Defaults to None.
        num_heads (int): attention heads. Defaults to 8.
        head_dim (int, optional): ``d``; the attention width is ``num_heads * head_dim``.
            Defaults to ``in_channels // num_heads``.
        qkv_proj (bool): learnt projections (True) or the parameter-free form. Defaults to True.
        text_tokens (str): 'pooled' or 'all'. Defaults to 'pooled'.
        modalities (Sequence[str]): which terms to add, a non-empty subset of ('image', 'text')
            (Table 5). Without 'image', ``F_out = Attn^L`` (queries still from the image).
            Defaults to ('image', 'text').
        attention (str): 'sdpa' (``F.scaled_dot_product_attention``, memory linear in the
            tokens) or 'explicit' (written out, the reference); the same maths, equal to 1e-5.
            Defaults to 'sdpa', chosen from the paper config's cached training step, batch 2,
            one thread, AMD EPYC Zen 3 (``tools/analysis_tools/neck_benchmark.py
            configs/tr2m_da_s.py --shapes 266 350 518 686``): at 518x686 the step's peak
            memory is 766 MiB with 'sdpa' and 1983 MiB written out (from 266x350: x3.81 and
            x6.91 for x3.82 the pixels), the neck's forward 3.1 s and 5.8 s; details in
            ``docs/user_guides/speed.md``.
    """

    def __init__(self, in_channels: int, text_channels: Optional[int] = None, num_heads: int = 8,
                 head_dim: Optional[int] = None, qkv_proj: bool = True,
                 text_tokens: str = 'pooled', modalities: Sequence[str] = ('image', 'text'),
                 attention: str = 'sdpa', init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if attention not in ATTENTION_IMPLS:
            raise ValueError(f'attention must be one of {ATTENTION_IMPLS}, got {attention!r}')
        self.attention = attention
        if text_tokens not in TEXT_TOKENS:
            raise ValueError(f'text_tokens must be one of {TEXT_TOKENS}, got {text_tokens!r}')
        bad = set(modalities) - {'image', 'text'}
        if bad or not modalities:
            raise ValueError(f"modalities must be a non-empty subset of ('image', 'text'), "
                             f'got {modalities!r}')
        use_image, use_text = 'image' in modalities, 'text' in modalities
        if use_text and text_channels is None:
            raise ValueError("CrossModalAttentionNeck uses 'text' but got no text_channels")
        self.in_channels = self.out_channels = in_channels
        self.num_heads = num_heads
        self.text_tokens = text_tokens
        self.modalities = tuple(modalities)
        self.qkv_proj = qkv_proj
        if not qkv_proj:
            if in_channels % num_heads:
                raise ValueError(f'in_channels {in_channels} not divisible by num_heads '
                                 f'{num_heads}')
            self.text_proj = (nn.Linear(text_channels, in_channels)
                              if use_text and text_channels != in_channels else nn.Identity())
            return
        head_dim = head_dim or in_channels // num_heads
        if head_dim <= 0:
            raise ValueError(f'head_dim must be positive, got {head_dim}')
        width = num_heads * head_dim
        self.head_dim = head_dim
        # no parameter that would never receive a gradient (DDP refuses those)
        if use_image or (use_text and text_tokens == 'all'):
            self.norm_img = nn.LayerNorm(in_channels)
            self.q = nn.Linear(in_channels, width)
        if use_image:
            self.k_img = nn.Linear(in_channels, width, bias=False)  # a key bias cancels
            self.v_img = nn.Linear(in_channels, width)
            self.out_img = nn.Linear(width, in_channels)
        if use_text:
            self.norm_txt = nn.LayerNorm(text_channels)
            if text_tokens == 'all':
                self.k_txt = nn.Linear(text_channels, width, bias=False)
            self.v_txt = nn.Linear(text_channels, width)
            self.out_txt = nn.Linear(width, in_channels)

    def _text(self, text: Optional[TextEmbedding], dtype: torch.dtype):
        if 'text' not in self.modalities:
            return None, None
        if text is None:
            raise ValueError('CrossModalAttentionNeck uses text but got no caption embedding')
        if self.text_tokens == 'pooled':
            return text.pooled[:, None].to(dtype), None  # (B, 1, D')
        return text.tokens.to(dtype), text.mask

    def forward(self, img_feats: Tensor, text: Optional[TextEmbedding] = None) -> Tensor:
        """``(B, D, h, w)`` image tokens (+ caption embedding) -> fused ``(B, D, h, w)``."""
        b, dim, h, w = img_feats.shape
        tokens = img_feats.flatten(2).transpose(1, 2)  # (B, N, D)
        txt, mask = self._text(text, tokens.dtype)
        use_image = 'image' in self.modalities
        out = tokens if use_image else torch.zeros_like(tokens)
        if not self.qkv_proj:
            if use_image:
                out = out + multi_head_attention(tokens, tokens, tokens, self.num_heads,
                                                 impl=self.attention)
            if txt is not None:
                txt = self.text_proj(txt)
                out = out + multi_head_attention(tokens, txt, txt, self.num_heads, mask,
                                                 self.attention)
        else:
            normed = self.norm_img(tokens) if hasattr(self, 'q') else None
            q = self.q(normed) if hasattr(self, 'q') else None
            if use_image:
                attn = multi_head_attention(q, self.k_img(normed), self.v_img(normed),
                                            self.num_heads, impl=self.attention)
                out = out + self.out_img(attn)
            if txt is not None:
                txt = self.norm_txt(txt)
                if self.text_tokens == 'pooled':  # softmax over one token: its value
                    attn = self.v_txt(txt).expand(b, tokens.shape[1], -1)
                else:
                    attn = multi_head_attention(q, self.k_txt(txt), self.v_txt(txt),
                                                self.num_heads, mask, self.attention)
                out = out + self.out_txt(attn)
        return out.transpose(1, 2).reshape(b, dim, h, w)
