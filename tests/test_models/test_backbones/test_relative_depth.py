"""``TransformersRelativeDepth``: presets at full size (meta device), toy presets on CPU,
loading from a saved directory, and the error messages of unreachable sources."""
import pytest
import torch

from tr2m.models.backbones import REL_DEPTH_PRESETS, TransformersRelativeDepth

FULL = [a for a, p in REL_DEPTH_PRESETS.items() if p['hub']]
TINY = [a for a, p in REL_DEPTH_PRESETS.items() if not p['hub']]
#: Published sizes in millions (Depth Anything / MiDaS 3.1 papers and model cards).
PUBLISHED_M = dict(da_v1_s=24.8, da_v1_b=97.5, da_v1_l=335.3, da_v2_s=24.8, da_v2_b=97.5,
                   da_v2_l=335.3, dpt_hybrid=123, dpt_large=344, midas_swin2_l384=213,
                   midas_beit_l512=345)
#: Network input for a 476 x 644 image (multiple of 14 kept; DPT/Swin2 square; BEiT /32).
NET_SIZE = dict(da_v1_s=(476, 644), dpt_hybrid=(384, 384), dpt_large=(384, 384),
                midas_swin2_l384=(384, 384), midas_beit_l512=(480, 640))


def build_meta(arch):
    with torch.device('meta'):
        return TransformersRelativeDepth(arch=arch, pretrained=None)


@pytest.mark.parametrize('arch', FULL)
def test_full_preset_size_and_shapes(arch):
    model = build_meta(arch)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert params == pytest.approx(PUBLISHED_M[arch], rel=0.01)
    assert not any(p.requires_grad for p in model.parameters())
    net = NET_SIZE.get(arch, NET_SIZE['da_v1_s'] if arch.startswith('da_') else None)
    assert model.network_size(476, 644) == net
    raw = model.model(pixel_values=torch.zeros(1, 3, *net, device='meta')).predicted_depth
    assert tuple(raw.shape) == (1, *net)  # the hub models predict at their input size
    out = model(torch.zeros(2, 3, 476, 644, device='meta'))
    assert tuple(out.shape) == (2, 1, 476, 644)  # returned at the input resolution


def test_depth_anything_layers():
    cfg = REL_DEPTH_PRESETS
    assert cfg['da_v1_s']['config']['backbone_config']['out_indices'] == [9, 10, 11, 12]
    assert cfg['da_v2_s']['config']['backbone_config']['out_indices'] == [3, 6, 9, 12]
    assert cfg['da_v2_l']['config']['backbone_config']['out_indices'] == [5, 12, 18, 24]
    assert all(cfg[a]['mean'] == (0.485, 0.456, 0.406) for a in FULL if a.startswith('da_'))
    assert all(cfg[a]['mean'] == (0.5, 0.5, 0.5) for a in FULL if not a.startswith('da_'))


@pytest.mark.parametrize('arch', TINY)
def test_tiny_forward_is_frozen_inverse_depth(arch):
    model = TransformersRelativeDepth(arch=arch, pretrained=None)
    model.train()
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert model.weights_source == 'random'
    out = model(torch.rand(2, 3, 70, 70))
    assert out.shape == (2, 1, 70, 70) and torch.isfinite(out).all()
    assert (out >= 0).all()  # the heads end with ReLU: relative inverse depth


@pytest.mark.parametrize('arch', ['da_tiny', 'dpt_tiny', 'dpt_beit_tiny'])
def test_save_pretrained_roundtrip(arch, tmp_path):
    torch.manual_seed(0)
    model = TransformersRelativeDepth(arch=arch, pretrained=None)
    model.model.save_pretrained(tmp_path)
    loaded = TransformersRelativeDepth(arch=arch, pretrained=str(tmp_path))
    assert loaded.weights_source == str(tmp_path) and loaded.from_pretrained
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(model(x), loaded(x))


def test_random_init_env_overrides_pretrained(monkeypatch):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    model = TransformersRelativeDepth(arch='da_tiny', pretrained='nobody/does-not-exist')
    assert model.weights_source == 'random'


def test_input_size_rules():
    da = TransformersRelativeDepth(arch='da_tiny', pretrained=None, input_size=28)
    assert da.network_size(56, 84) == (28, 42)
    da.input_size = 'native'
    assert da.network_size(100, 100) == (518, 518)
    beit = TransformersRelativeDepth(arch='dpt_beit_tiny', pretrained=None)
    assert beit.network_size(60, 100) == (64, 96)
    with pytest.raises(ValueError, match='only'):
        TransformersRelativeDepth(arch='dpt_hybrid_tiny', pretrained=None, input_size=128)
    with pytest.raises(KeyError, match='unknown relative-depth arch'):
        TransformersRelativeDepth(arch='da_v3_s', pretrained=None)


def test_missing_local_dir_message(tmp_path):
    missing = str(tmp_path / 'no_such_dir')
    with pytest.raises(RuntimeError) as err:
        TransformersRelativeDepth(arch='da_tiny', pretrained=missing)
    msg = str(err.value)
    assert "TransformersRelativeDepth(arch='da_tiny')" in msg and missing in msg
    assert 'does not exist' in msg and 'TR2M_RANDOM_INIT=1' in msg


def test_unreachable_hub_id_message(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(RuntimeError) as err:
        TransformersRelativeDepth(arch='dpt_tiny', pretrained='nobody/no-such-model')
    msg = str(err.value)
    assert "TransformersRelativeDepth(arch='dpt_tiny')" in msg
    assert "hub id 'nobody/no-such-model'" in msg and 'huggingface-cli download' in msg


def test_wrong_local_dir_message(tmp_path):
    (tmp_path / 'notes.txt').write_text('not a model')
    with pytest.raises(RuntimeError, match='local path') as err:
        TransformersRelativeDepth(arch='da_tiny', pretrained=str(tmp_path))
    assert 'save_pretrained' in str(err.value)


def test_rsa_sizes_per_dataset_recorded_in_run_notes():
    """``input_size='rsa'``: NYUv2 at 434 x 560, KITTI at 350 x 1204 (RSA's release), others
    by the default rule; the output is interpolated back and the size recorded per sample."""
    from tr2m.structures import RSA_REL_INPUT_SIZES, DepthDataSample, notes_of

    assert RSA_REL_INPUT_SIZES == {'nyu': (434, 560), 'kitti': (350, 1204)}
    torch.manual_seed(0)
    da = TransformersRelativeDepth(arch='da_tiny', pretrained=None, input_size='rsa')
    samples = [DepthDataSample(metainfo=dict(dataset_name=n)) for n in ('nyu', 'kitti', 'void')]
    assert [da.network_size(48, 64, s) for s in samples] == [(434, 560), (350, 1204), (42, 70)]
    seen = []
    orig = da.model.forward
    da.model.forward = lambda pixel_values: (seen.append(tuple(pixel_values.shape)),
                                             orig(pixel_values=pixel_values))[1]
    images = torch.rand(3, 3, 48, 64)
    out = da(images, samples)
    assert out.shape == (3, 1, 48, 64)
    assert sorted(seen) == sorted([(1, 3, 434, 560), (1, 3, 350, 1204), (1, 3, 42, 70)])
    assert [notes_of(s).rel_input_size for s in samples] == ['434x560', '350x1204', None]
    # the same image alone at NYUv2's size gives the same output (grouping changes nothing)
    alone = da(images[:1], samples[:1])
    torch.testing.assert_close(alone, out[:1])
    fixed = TransformersRelativeDepth(arch='da_tiny', pretrained=None, input_size=(28, 42))
    assert fixed.network_size(480, 640) == (28, 42)
    with pytest.raises(ValueError, match=r'multiples of 14'):
        TransformersRelativeDepth(arch='da_tiny', pretrained=None, input_size=(30, 42))
    with pytest.raises(ValueError, match='square inputs'):
        TransformersRelativeDepth(arch='dpt_tiny', pretrained=None, input_size='rsa')
