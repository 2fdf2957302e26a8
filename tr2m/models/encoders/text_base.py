"""What every frozen text encoder returns, and the caption table they share.

Memory of the table (``CaptionTable``), for the paper's training mix (~50k images x 15 captions
= ~750k distinct captions, CLIP ViT-L/14 text, pooled width 768): pooled only in float16,
750k x 768 x 2 B = 1.15 GB (float32: 2.3 GB). Per-token states would add ~750k x 20 tokens x
768 x 2 B = ~23 GB, so they are kept only when a consumer needs them (``keep_tokens``: TR2M sets
it for ``text_tokens='all'``); at that scale use the disk cache (``tools/cache_features.py``).
"""
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

from tr2m.models.layers.precision import autocast_off

#: Storage dtypes of the caption table.
TABLE_DTYPES = {'float16': torch.float16, 'bfloat16': torch.bfloat16, 'float32': torch.float32}


class TextEmbedding(NamedTuple):
    """Encoded captions.

    Attributes:
        pooled (Tensor): one embedding per caption, ``(B, D')``.
        tokens (Tensor): per-token embeddings, ``(B, T, D')`` (``T = 0`` when the encoder does
            not keep tokens).
        mask (Tensor): bool ``(B, T)``, True for real (non-padding) tokens.
    """

    pooled: Tensor
    tokens: Tensor
    mask: Tensor


def check_captions(captions: Sequence[str], who: str) -> List[str]:
    """Reject a missing or empty caption with an error naming its position."""
    if isinstance(captions, str):
        raise TypeError(f'{who} takes a list of captions, got one string')
    out = []
    for i, c in enumerate(captions):
        if not isinstance(c, str) or not c.strip():
            raise ValueError(f'{who}: caption {i} of the batch is empty or not a string: {c!r}')
        out.append(c)
    return out


def stack_embeddings(pooled: Sequence[Tensor], tokens: Optional[Sequence[Tensor]],
                     width: int) -> TextEmbedding:
    """One :class:`TextEmbedding` from per-caption pooled ``(D',)`` and token ``(T_i, D')``
    tensors (tokens right-padded with zeros); ``tokens=None`` gives ``T = 0``."""
    with autocast_off():  # float16 storage under CPU autocast
        return _stack_embeddings(pooled, tokens, width)


def _stack_embeddings(pooled: Sequence[Tensor], tokens: Optional[Sequence[Tensor]],
                      width: int) -> TextEmbedding:
    pooled_t = torch.stack(list(pooled))  # (B, D')
    batch = pooled_t.shape[0]
    if tokens is None:
        return TextEmbedding(pooled_t, pooled_t.new_zeros(batch, 0, width),
                             torch.zeros(batch, 0, dtype=torch.bool, device=pooled_t.device))
    longest = max(t.shape[0] for t in tokens)
    out = pooled_t.new_zeros(batch, longest, tokens[0].shape[-1])
    mask = torch.zeros(batch, longest, dtype=torch.bool, device=pooled_t.device)
    for i, tok in enumerate(tokens):
        out[i, :tok.shape[0]] = tok
        mask[i, :tok.shape[0]] = True
    return TextEmbedding(pooled_t, out, mask)


class CaptionTable:
    """Every caption's embedding, computed once and kept: nothing is ever evicted.

    A frozen, deterministic encoder gives a caption the same embedding in every epoch, so each
    distinct caption is encoded once (on first use, or all at once by :meth:`precompute` at
    start-up, see ``CaptionEmbeddingHook``) and stored in ``dtype``. A stored caption is always
    returned from the table, also the first time, so an embedding does not depend on when it
    was computed. The table grows with the number of distinct captions of the data (see the
    module docstring for the memory); ``enabled=False`` encodes every call anew.

    Args:
        dtype (str): storage dtype, a key of :data:`TABLE_DTYPES`. Defaults to 'float16'.
        keep_tokens (bool): also store (and return) the per-token states; otherwise the returned
            ``tokens``/``mask`` have length 0. Defaults to False.
        enabled (bool): store embeddings at all. Defaults to True.
    """

    def __init__(self, dtype: str = 'float16', keep_tokens: bool = False,
                 enabled: bool = True) -> None:
        if dtype not in TABLE_DTYPES:
            raise ValueError(f'caption table dtype must be one of {sorted(TABLE_DTYPES)}, '
                             f'got {dtype!r}')
        self.dtype = TABLE_DTYPES[dtype]
        self.keep_tokens = keep_tokens
        self.enabled = enabled
        self._pooled: Dict[str, Tensor] = {}
        self._tokens: Dict[str, Tensor] = {}
        self.encoded = 0  # captions passed to the encoder so far (a diagnostic)

    def __len__(self) -> int:
        return len(self._pooled)

    def __contains__(self, caption: str) -> bool:
        return caption in self._pooled and (not self.keep_tokens or caption in self._tokens)

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored embeddings."""
        return sum(t.numel() * t.element_size() for d in (self._pooled, self._tokens)
                   for t in d.values())

    def _store(self, captions: List[str], emb: TextEmbedding) -> None:
        for i, c in enumerate(captions):
            self._pooled[c] = emb.pooled[i].detach().to('cpu', self.dtype)
            if self.keep_tokens:
                n = int(emb.mask[i].sum())
                self._tokens[c] = emb.tokens[i, :n].detach().to('cpu', self.dtype)

    def _run(self, captions: List[str], fn: Callable[[List[str]], TextEmbedding]
             ) -> TextEmbedding:
        self.encoded += len(captions)
        return fn(captions)

    def precompute(self, captions: Iterable[str], fn: Callable[[List[str]], TextEmbedding],
                   batch_size: int = 256, progress: Optional[Callable[[int], None]] = None
                   ) -> int:
        """Encode every caption not yet stored, ``batch_size`` at a time.

        Args:
            captions (Iterable[str]): captions (duplicates and stored ones are skipped).
            fn (callable): ``list of captions -> TextEmbedding`` (the encoder's raw forward).
            batch_size (int): captions per encoder call. Defaults to 256.
            progress (callable, optional): called with the number of captions done after each
                batch.

        Returns:
            int: how many captions were encoded.
        """
        todo = [c for c in dict.fromkeys(captions) if c not in self]
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            with torch.no_grad():
                self._store(chunk, self._run(chunk, fn))
            if progress is not None:
                progress(len(chunk))
        return len(todo)

    def encode(self, captions: List[str], fn: Callable[[List[str]], TextEmbedding],
               width: int) -> TextEmbedding:
        """Embeddings of ``captions`` (in order); missing ones are encoded in one call of
        ``fn`` and stored. Returned on CPU in the table's dtype (the caller moves and casts)."""
        if not self.enabled:
            return self._run(captions, fn)
        todo = [c for c in dict.fromkeys(captions) if c not in self]
        if todo:
            with torch.no_grad():
                self._store(todo, self._run(todo, fn))
        pooled = [self._pooled[c] for c in captions]
        tokens = [self._tokens[c] for c in captions] if self.keep_tokens else None
        return stack_embeddings(pooled, tokens, width)

    def state(self) -> Tuple[int, int]:
        """``(captions stored, captions encoded so far)``."""
        return len(self), self.encoded

    def clear(self) -> None:
        self._pooled.clear()
        self._tokens.clear()


class TextEncoderMixin:
    """The caption-table plumbing shared by the frozen text encoders.

    A subclass implements ``_encode(captions) -> TextEmbedding`` (one raw encoder call), sets
    ``out_channels``/``token_channels`` and calls :meth:`init_table`; ``forward`` then serves
    every caption from the :class:`CaptionTable` and :meth:`precompute` fills it up front.
    """

    def init_table(self, caption_dtype: str = 'float16', keep_tokens: bool = False,
                   table: bool = True) -> None:
        self.caption_table = CaptionTable(caption_dtype, keep_tokens, enabled=table)

    @property
    def keep_tokens(self) -> bool:
        """Whether per-token states are kept and returned (pooled embeddings always are)."""
        return self.caption_table.keep_tokens

    @keep_tokens.setter
    def keep_tokens(self, value: bool) -> None:
        if value != self.caption_table.keep_tokens:
            self.caption_table.clear()  # stored entries lack (or carry unneeded) tokens
        self.caption_table.keep_tokens = value

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def precompute(self, captions: Iterable[str], batch_size: int = 256,
                   progress: Optional[Callable[[int], None]] = None) -> int:
        """Embed every distinct caption of ``captions`` now (see :meth:`CaptionTable.precompute`);
        returns how many were encoded."""
        return self.caption_table.precompute(captions, self._encode, batch_size, progress)

    def forward(self, captions: List[str]) -> TextEmbedding:
        captions = check_captions(captions, type(self).__name__)
        emb = self.caption_table.encode(captions, self._encode, self.token_channels)
        device = self._device()
        if not self.caption_table.enabled and not self.keep_tokens:
            emb = stack_embeddings(list(emb.pooled), None, self.token_channels)
        return TextEmbedding(emb.pooled.to(device, torch.float32),
                             emb.tokens.to(device, torch.float32), emb.mask.to(device))
