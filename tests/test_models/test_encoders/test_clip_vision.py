"""``CLIPVisionEncoder``: patch tokens as a map, loading a saved tower, resized grids."""
import pytest
import torch

from tr2m.models.encoders import CLIPVisionEncoder


def test_full_size_widths():
    with torch.device('meta'):
        enc = CLIPVisionEncoder(arch='ViT-L-14', pretrained=None)
    assert enc.out_channels == 1024 and enc.image_size == 224
    assert tuple(enc(torch.zeros(1, 3, 476, 644, device='meta')).shape) == (1, 1024, 16, 16)


def test_tiny_tokens_and_roundtrip(tmp_path):
    torch.manual_seed(0)
    enc = CLIPVisionEncoder(arch='tiny', pretrained=None)
    x = torch.rand(2, 3, 60, 80)
    feats = enc(x)
    assert feats.shape == (2, 32, 4, 4) and not any(p.requires_grad for p in enc.parameters())
    torch.save(enc.model.state_dict(), tmp_path / 'visual.pt')
    loaded = CLIPVisionEncoder(arch='tiny', pretrained=str(tmp_path / 'visual.pt'))
    assert torch.equal(loaded(x), feats)
    bigger = CLIPVisionEncoder(arch='tiny', pretrained=str(tmp_path / 'visual.pt'),
                               image_size=84)  # position embeddings interpolated 4x4 -> 6x6
    assert bigger(x).shape == (2, 32, 6, 6)


def test_resnet_towers_rejected():
    with pytest.raises(ValueError, match='ViT'):
        CLIPVisionEncoder(arch='RN50', pretrained=None)
