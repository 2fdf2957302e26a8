"""``CLIPTextEncoder``: widths read from the tower (RN50, ViT-L/14), toy encoding with the real
tokenizer, loading a saved state dict, and the messages of bad sources."""
import pytest
import torch

from tr2m.models.encoders import CLIPTextEncoder

CAPTIONS = ['A kitchen with a table and chairs.', 'A road between trees.']


@pytest.mark.parametrize('arch,pooled,tokens', [('RN50', 1024, 512), ('ViT-L-14', 768, 768),
                                                ('ViT-B-32', 512, 512)])
def test_tower_widths_read_from_model(arch, pooled, tokens):
    with torch.device('meta'):
        enc = CLIPTextEncoder(arch=arch, pretrained=None)
    assert (enc.out_channels, enc.token_channels) == (pooled, tokens)
    assert not any(p.requires_grad for p in enc.parameters())


def test_tiny_encoding_uses_real_vocabulary():
    enc = CLIPTextEncoder(arch='tiny', pretrained=None, keep_tokens=True)
    ids = enc.tokenizer(CAPTIONS)
    assert ids.shape == (2, 77) and int(ids.max()) == 49407  # the real BPE's end-of-text id
    emb = enc(CAPTIONS)
    assert emb.pooled.shape == (2, 32) and emb.tokens.shape[0] == 2
    assert emb.mask.sum(1).tolist() == [int(n) for n in (ids > 0).sum(1)]
    again = enc(list(reversed(CAPTIONS)))  # the caption table returns the same embeddings
    assert torch.equal(again.pooled, emb.pooled.flip(0))
    assert torch.equal(again.tokens, emb.tokens.flip(0))
    with pytest.raises(ValueError, match='caption 1'):
        enc(['fine', ' '])


def test_state_dict_file_roundtrip(tmp_path):
    torch.manual_seed(0)
    enc = CLIPTextEncoder(arch='tiny', pretrained=None)
    path = tmp_path / 'text_tower.pt'
    torch.save(enc.model.state_dict(), path)
    loaded = CLIPTextEncoder(arch='tiny', pretrained=str(path))
    assert loaded.weights_source == str(path)
    assert torch.equal(enc(CAPTIONS).pooled, loaded(CAPTIONS).pooled)
    # a full CLIP checkpoint (vision tower and logit scale besides the text keys) loads too
    full = {**enc.model.state_dict(), 'visual.conv1.weight': torch.zeros(1),
            'logit_scale': torch.zeros(())}
    torch.save({'state_dict': full}, tmp_path / 'clip.pt')
    loaded = CLIPTextEncoder(arch='tiny', pretrained=str(tmp_path / 'clip.pt'))
    assert torch.equal(enc(CAPTIONS).pooled, loaded(CAPTIONS).pooled)


def test_bad_sources(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    missing = str(tmp_path / 'missing.pt')
    with pytest.raises(RuntimeError, match=r"CLIPTextEncoder\(arch='tiny'\).*does not exist"):
        CLIPTextEncoder(arch='tiny', pretrained=missing)
    torch.save({'token_embedding.weight': torch.zeros(3, 3)}, tmp_path / 'other.pt')
    with pytest.raises(RuntimeError, match='does not match the text tower'):
        CLIPTextEncoder(arch='tiny', pretrained=str(tmp_path / 'other.pt'))
    with pytest.raises(RuntimeError) as err:
        CLIPTextEncoder(arch='RN50', pretrained='openai')
    msg = str(err.value)
    assert "CLIPTextEncoder(arch='RN50')" in msg and "tag 'openai'" in msg
    assert 'pass its path as `pretrained`' in msg
