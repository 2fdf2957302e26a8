"""The CLIP ConvNeXt backbone: shapes, the real loading path (save / load round trips), the
published size on the meta device, frozen stages."""
import pytest
import torch

from projects.scaledepth.scaledepth.clip_convnext import CLIPConvNeXtBackbone


def tiny(**kw):
    torch.manual_seed(0)
    return CLIPConvNeXtBackbone(arch='tiny', pretrained=None, **kw)


def test_tiny_levels():
    net = tiny()
    outs = net(torch.rand(2, 3, 64, 96))
    assert net.out_channels == [16, 32, 64, 128] and net.strides == [4, 8, 16, 32]
    assert [tuple(o.shape) for o in outs] == [(2, 16, 16, 24), (2, 32, 8, 12), (2, 64, 4, 6),
                                              (2, 128, 2, 3)]
    assert all(p.requires_grad for p in net.parameters())  # fine-tuned, as released


@pytest.mark.parametrize('layout', ['own', 'open_clip'])
def test_weights_round_trip_through_a_file(tmp_path, layout):
    net = tiny()
    state = net.state_dict()
    if layout == 'open_clip':  # a full CLIP checkpoint: trunk under visual.trunk, plus the rest
        state = {'visual.trunk.' + k: v for k, v in state.items()}
        state.update({'visual.trunk.head.norm.weight': torch.ones(128),
                      'visual.head.mlp.fc1.weight': torch.zeros(4, 128),
                      'token_embedding.weight': torch.zeros(10, 4), 'logit_scale': torch.ones(())})
    path = tmp_path / 'trunk.pth'
    torch.save(state, path)
    torch.manual_seed(1)
    loaded = CLIPConvNeXtBackbone(arch='tiny', pretrained=str(path))
    assert loaded.pretrained_source == str(path)
    for (k, a), b in zip(net.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), k
    x = torch.rand(1, 3, 64, 64)
    net.eval(), loaded.eval()
    for a, b in zip(net(x), loaded(x)):
        torch.testing.assert_close(a, b)


def test_loading_failures_name_the_component(tmp_path):
    with pytest.raises(RuntimeError, match=r"CLIPConvNeXtBackbone\(arch='tiny'\).*not found"):
        CLIPConvNeXtBackbone(arch='tiny', pretrained=str(tmp_path / 'missing.pth'))
    other = {k: v[..., :1] if v.ndim else v for k, v in tiny().state_dict().items()}
    torch.save(other, tmp_path / 'other.pth')
    with pytest.raises(RuntimeError, match='does not match the ConvNeXt trunk'):
        CLIPConvNeXtBackbone(arch='tiny', pretrained=str(tmp_path / 'other.pth'))
    with pytest.raises(KeyError, match='unknown CLIP ConvNeXt arch'):
        CLIPConvNeXtBackbone(arch='convnext_huge')


def test_random_init_env_wins_over_a_path(tmp_path, monkeypatch):
    torch.save(tiny().state_dict(), tmp_path / 'w.pth')
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    net = CLIPConvNeXtBackbone(arch='tiny', pretrained=str(tmp_path / 'w.pth'))
    assert net.pretrained_source == 'random'


def test_published_size_on_the_meta_device():
    """The released backbone is open_clip's convnext_large_d_320 trunk (stem + 4 stages):
    196.23M parameters, counted here from open_clip's own tower."""
    from open_clip import get_model_config
    from open_clip.model import CLIPVisionCfg, _build_vision_tower

    with torch.device('meta'):
        net = CLIPConvNeXtBackbone(arch='convnext_large_d_320', pretrained=None)
        cfg = get_model_config('convnext_large_d_320')
        tower = _build_vision_tower(cfg['embed_dim'], CLIPVisionCfg(**cfg['vision_cfg']))
    ours = sum(p.numel() for p in net.parameters())
    theirs = sum(p.numel() for m in (tower.trunk.stem, tower.trunk.stages)
                 for p in m.parameters())
    assert ours == theirs == 196_227_264
    assert net.out_channels == [192, 384, 768, 1536]
    assert list(net.state_dict()) == [k[len('trunk.'):] for k in tower.state_dict()
                                      if k.startswith(('trunk.stem.', 'trunk.stages.'))]


def test_frozen_stages_stay_frozen():
    net = tiny(frozen_stages=2)
    net.train()
    frozen = [net.stem, net.stages[0], net.stages[1]]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(not m.training for m in frozen) and net.stages[2].training
    assert all(p.requires_grad for p in net.stages[3].parameters())
