"""What every frozen text encoder returns, and the caption cache they share."""
from collections import OrderedDict
from typing import List, NamedTuple, Sequence

import torch
from torch import Tensor


class TextEmbedding(NamedTuple):
    """Encoded captions.

    Attributes:
        pooled (Tensor): one embedding per caption, ``(B, D')``.
        tokens (Tensor): per-token embeddings, ``(B, T, D')``.
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


class CaptionCache:
    """LRU cache of ``caption -> (pooled, tokens, mask)`` for frozen text encoders.

    The encoders are frozen and deterministic, so a caption's embedding never changes; the
    cache only saves time (captions repeat across epochs). ``size=0`` disables it.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._store: OrderedDict[str, tuple] = OrderedDict()

    def encode(self, captions: List[str], fn) -> TextEmbedding:
        """Encode ``captions`` with ``fn(list) -> TextEmbedding``, reusing cached entries."""
        if self.size <= 0:
            return fn(captions)
        todo = list(dict.fromkeys(c for c in captions if c not in self._store))
        if todo:
            emb = fn(todo)
            for i, c in enumerate(todo):
                n = int(emb.mask[i].sum())
                self._store[c] = (emb.pooled[i], emb.tokens[i, :n], emb.mask[i, :n])
                if len(self._store) > self.size:
                    self._store.popitem(last=False)
        items = []
        for c in captions:
            self._store.move_to_end(c)
            items.append(self._store[c])
        t = max(it[1].shape[0] for it in items)
        tokens = items[0][1].new_zeros(len(items), t, items[0][1].shape[-1])
        mask = torch.zeros(len(items), t, dtype=torch.bool, device=tokens.device)
        for i, (_, tok, _) in enumerate(items):
            tokens[i, :tok.shape[0]] = tok
            mask[i, :tok.shape[0]] = True
        return TextEmbedding(torch.stack([it[0] for it in items]), tokens, mask)

    def clear(self) -> None:
        self._store.clear()
