"""``CaptionTable``: every distinct caption is encoded once and never evicted; float16 storage,
pooled-only unless tokens are asked for; the text encoders serve every call from it."""
import pytest
import torch

from tr2m.models.encoders import CLIPTextEncoder, SentenceTextEncoder
from tr2m.models.encoders.text_base import CaptionTable, TextEmbedding

CAPTIONS = ['A kitchen with a table.', 'A road between trees.', 'A colon with folds.']


class CountingEncoder:
    """A fake raw encoder: pooled = (len, #words, 1/3), tokens = one row per word."""

    def __init__(self):
        self.calls, self.seen = 0, []

    def __call__(self, captions):
        self.calls += 1
        self.seen += list(captions)
        words = [c.split() for c in captions]
        t = max(len(w) for w in words)
        pooled = torch.tensor([[len(c), len(w), 1 / 3] for c, w in zip(captions, words)])
        tokens = torch.zeros(len(captions), t, 3)
        mask = torch.zeros(len(captions), t, dtype=torch.bool)
        for i, w in enumerate(words):
            tokens[i, :len(w)] = torch.arange(len(w), dtype=torch.float)[:, None] + 0.1
            mask[i, :len(w)] = True
        return TextEmbedding(pooled, tokens, mask)


def test_each_caption_encoded_once_and_kept():
    enc, table = CountingEncoder(), CaptionTable()
    for _ in range(3):  # three "epochs" of a data set larger than any LRU would keep
        for caption in CAPTIONS * 2:
            out = table.encode([caption], enc, width=3)
    assert enc.seen == CAPTIONS and table.state() == (3, 3)  # no eviction, no re-encoding
    out = table.encode(list(reversed(CAPTIONS)), enc, width=3)
    assert out.pooled.dtype == torch.float16 and out.tokens.shape == (3, 0, 3)
    # stored in float16: 1/3 rounds to the nearest half-precision value
    assert out.pooled[0, 2].item() == torch.tensor(1 / 3).half().item()
    assert out.pooled[:, 1].tolist() == [4, 4, 5]  # words
    assert table.nbytes == 3 * 3 * 2


def test_precompute_batches_and_skips_known():
    enc, table = CountingEncoder(), CaptionTable(dtype='float32', keep_tokens=True)
    table.encode([CAPTIONS[0]], enc, width=3)
    done = []
    assert table.precompute(CAPTIONS + CAPTIONS, enc, batch_size=1, progress=done.append) == 2
    assert enc.calls == 3 and done == [1, 1]
    out = table.encode(CAPTIONS[:2], enc, width=3)
    assert enc.calls == 3  # served from the table
    assert out.tokens.shape == (2, 5, 3) and out.mask.sum(1).tolist() == [5, 4]
    assert out.tokens[1, 4].abs().sum() == 0 and out.tokens[1, 3, 0] == 3.1  # right padding


def test_disabled_table_encodes_every_call():
    enc, table = CountingEncoder(), CaptionTable(enabled=False)
    table.encode(CAPTIONS, enc, width=3)
    table.encode(CAPTIONS, enc, width=3)
    assert enc.calls == 2 and len(table) == 0
    with pytest.raises(ValueError, match='dtype'):
        CaptionTable(dtype='int8')


@pytest.mark.parametrize('build', [
    lambda **kw: CLIPTextEncoder(arch='tiny', pretrained=None, **kw),
    lambda **kw: SentenceTextEncoder(arch='bert_tiny', pretrained=None, **kw)])
def test_encoders_serve_from_table(build):
    torch.manual_seed(0)
    enc = build()
    calls = []
    raw = enc._encode
    enc._encode = lambda caps: calls.append(list(caps)) or raw(caps)
    first = enc(CAPTIONS[:2])
    enc.precompute(CAPTIONS, batch_size=2)
    again = enc(CAPTIONS[::-1])
    assert calls == [CAPTIONS[:2], CAPTIONS[2:]]  # each caption once
    assert torch.equal(again.pooled[1:], first.pooled.flip(0))
    assert again.pooled.dtype == torch.float32 and again.tokens.shape[1] == 0
    exact = build(caption_table=False)
    exact.load_state_dict(enc.state_dict())
    ref = exact(CAPTIONS).pooled
    # float16 storage: relative error <= 2^-11 per value (normal range)
    assert ((again.pooled.flip(0) - ref).abs() <= ref.abs() * 2 ** -11 + 1e-7).all()
    enc.keep_tokens = True  # switching drops the pooled-only entries
    assert len(enc.caption_table) == 0 and enc(CAPTIONS).tokens.shape[1] > 0
