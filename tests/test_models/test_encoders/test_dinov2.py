"""``DINOv2Encoder``: preset sizes (meta device), toy forward, loading a saved directory."""
import pytest
import torch

from tr2m.models.encoders import DINOV2_PRESETS, DINOv2Encoder

#: ``arch -> (params in millions, width)`` of the hub checkpoints.
SIZES = dict(vits14=(22.06, 384), vitb14=(86.58, 768), vitl14=(304.37, 1024),
             vitg14=(1136.48, 1536))


@pytest.mark.parametrize('arch', sorted(SIZES))
def test_full_preset_sizes(arch):
    with torch.device('meta'):
        enc = DINOv2Encoder(arch=arch, pretrained=None)
    params, width = SIZES[arch]
    assert sum(p.numel() for p in enc.parameters()) / 1e6 == pytest.approx(params, abs=0.01)
    assert enc.out_channels == width
    assert DINOV2_PRESETS[arch][0].startswith('facebook/dinov2-')
    feats = enc(torch.zeros(1, 3, 476, 644, device='meta'))
    assert tuple(feats.shape) == (1, width, 34, 46)


def test_tiny_forward_and_frozen():
    enc = DINOv2Encoder(arch='vit_tiny14', pretrained=None)
    enc.train()
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    assert enc(torch.rand(2, 3, 70, 84)).shape == (2, 64, 5, 6)
    assert enc(torch.rand(1, 3, 60, 60)).shape == (1, 64, 4, 4)  # rounded to a multiple of 14


def test_save_pretrained_roundtrip(tmp_path):
    torch.manual_seed(0)
    enc = DINOv2Encoder(arch='vit_tiny14', pretrained=None)
    enc.model.save_pretrained(tmp_path)
    loaded = DINOv2Encoder(arch='vit_tiny14', pretrained=str(tmp_path))
    assert loaded.weights_source == str(tmp_path)
    x = torch.rand(1, 3, 56, 56)
    assert torch.equal(enc(x), loaded(x))


def test_missing_and_unreachable_sources(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(RuntimeError, match=r"DINOv2Encoder\(arch='vit_tiny14'\).*does not exist"):
        DINOv2Encoder(arch='vit_tiny14', pretrained=str(tmp_path / 'missing'))
    with pytest.raises(RuntimeError, match="hub id 'nobody/dinov2-nothing'"):
        DINOv2Encoder(arch='vit_tiny14', pretrained='nobody/dinov2-nothing')
