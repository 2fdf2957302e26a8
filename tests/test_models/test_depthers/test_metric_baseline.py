"""``MetricDepthBaseline``: published sizes on the meta device, toy presets on real frames,
Depth Pro's focal length (FOV head or intrinsics), agreement with ``transformers``' own
post-processing, the loading path (save_pretrained round trip, clear failures, the ZoeD-K
config fix) and the checkpoint policy."""
import math

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from tr2m.models.depthers import METRIC_DEPTH_PRESETS, MetricDepthBaseline
from tr2m.models.depthers.metric_baseline import build_metric_depth_config
from tr2m.registry import DATASETS

FULL = [a for a, p in METRIC_DEPTH_PRESETS.items() if p['hub']]
TINY = sorted({p['tiny'] for p in METRIC_DEPTH_PRESETS.values()})


def tiny(arch, **kwargs):
    torch.manual_seed(0)
    return MetricDepthBaseline(arch=arch, pretrained=None, **kwargs).eval()


def real_batch(rgbd_real, datasets, size=(56, 84), limit=2):
    """Real frames resized for the network; the GT keeps its own resolution."""
    pipe = [dict(type='LoadRGBImage'), dict(type='Resize', scale=size, resize_depth=False),
            dict(type='LoadDepth'), dict(type='PackDepthInputs')]
    with DefaultScope.overwrite_default_scope('tr2m'):
        ds = DATASETS.build(dict(type='DepthManifestDataset', data_root=str(rgbd_real),
                                 ann_file='manifest.json', datasets=datasets, pipeline=pipe))
    return pseudo_collate([ds[i] for i in range(min(limit, len(ds)))])


def run(model, data):
    data = model.data_preprocessor(data, False)
    with torch.no_grad():
        return data, model(**data, mode='predict')


# ----------------------------------------------------------------------------- presets

def test_preset_table():
    assert set(FULL) == {'depth_pro', 'zoedepth_n', 'zoedepth_k', 'zoedepth_nk'} | {
        f'da_v2_metric_{s}_{v}' for s in ('indoor', 'outdoor') for v in 'sbl'}
    assert METRIC_DEPTH_PRESETS['depth_pro']['hub'] == 'apple/DepthPro-hf'
    assert [METRIC_DEPTH_PRESETS[f'zoedepth_{k}']['hub'] for k in ('n', 'k', 'nk')] == [
        'Intel/zoedepth-nyu', 'Intel/zoedepth-kitti', 'Intel/zoedepth-nyu-kitti']
    assert METRIC_DEPTH_PRESETS['da_v2_metric_outdoor_b']['hub'] == \
        'depth-anything/Depth-Anything-V2-Metric-Outdoor-Base-hf'
    for arch in FULL:
        if arch.startswith('da_'):
            cfg = build_metric_depth_config(arch)
            assert cfg.depth_estimation_type == 'metric'
            assert cfg.max_depth == (20 if 'indoor' in arch else 80)
    k = build_metric_depth_config('zoedepth_k')
    assert k.bin_centers_type == 'normed' and k.bin_configurations[0]['max_depth'] == 80.0
    assert METRIC_DEPTH_PRESETS['zoedepth_k']['net_size'] == (384, 768)  # ZoeDepth's KITTI size
    assert len(build_metric_depth_config('zoedepth_nk').bin_configurations) == 2
    assert all(METRIC_DEPTH_PRESETS[a]['tiny'] in TINY for a in FULL)


@pytest.mark.parametrize('arch', FULL)
def test_full_preset_sizes_on_meta(arch, monkeypatch):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')  # the hub id is not fetched: random weights
    with torch.device('meta'):
        model = MetricDepthBaseline(arch=arch)
    assert model.network.weights_source == 'random'
    params = sum(p.numel() for p in model.parameters())
    assert params == pytest.approx(METRIC_DEPTH_PRESETS[arch]['params'], rel=0.01)
    assert not any(p.requires_grad for p in model.parameters())
    net = model.network
    # a 480 x 640 image: Depth Pro's fixed square; DA's shorter side 518 (multiple of 14);
    # ZoeDepth pads by (46, 53) and keeps the aspect ratio towards 384 x 512 (K: 384 x 768)
    expected = dict(depth_pro=(1536, 1536), zoedepth_n=(384, 512), zoedepth_nk=(384, 512),
                    zoedepth_k=(576, 768)).get(arch, (518, 686))
    ph, pw = net.padding(480, 640)
    assert (ph, pw) == ((46, 53) if arch.startswith('zoedepth') else (0, 0))
    assert net.network_size(480 + 2 * ph, 640 + 2 * pw) == expected
    if arch == 'depth_pro':
        assert params == 951_991_330  # exactly the released checkpoint's count
        assert net.has_fov_head


# ----------------------------------------------------------------------------- real frames

@pytest.mark.parametrize('arch', TINY)
def test_tiny_predict_on_real_frames(arch, rgbd_real):
    model = tiny(arch)
    model.train()  # frozen: stays in eval mode, nothing requires grad
    assert not model.network.training and not any(p.requires_grad for p in model.parameters())
    for names, gt_hw in ((['nyu_v2'], (480, 640)), (['kitti'], (375, 1242))):
        data, preds = run(model, real_batch(rgbd_real, names))
        assert data['inputs'].shape[-2:] == (56, 84)
        for s in preds:
            assert s.pred_depth.shape == gt_hw  # at the GT resolution
            d = s.pred_depth.data
            assert torch.isfinite(d).all() and (d > 0).all()
    with pytest.raises(RuntimeError, match='nothing to train'):
        model(**data, mode='loss')


def test_depth_pro_uses_known_focal_length(rgbd_real):
    model = tiny('depth_pro_tiny', focal='intrinsics')
    with torch.no_grad():  # a positive canonical inverse depth everywhere (random ReLU head)
        last = model.network.model.head.layers[4]
        last.weight.mul_(0.01)
        last.bias.fill_(1.0)
    data = real_batch(rgbd_real, ['nyu_v2'])
    fx = data['data_samples'][0].metainfo['intrinsics'][0]  # 518.86 scaled to the 84-px width
    assert fx == pytest.approx(518.8579 * 84 / 640, rel=1e-6)
    _, base = run(model, data)
    depth = torch.stack([s.pred_depth.data for s in base])
    assert base[0].metainfo['pred_focal_source'] == 'intrinsics'
    assert base[0].metainfo['pred_focal_px'] == pytest.approx(fx, rel=1e-6)
    for factor in (2.0, 0.5):
        for s in data['data_samples']:
            intr = list(s.metainfo['intrinsics'])
            s.set_metainfo(dict(intrinsics=[intr[0] * factor] + intr[1:]))
        _, scaled = run(model, data)
        ratio = torch.stack([s.pred_depth.data for s in scaled]) / depth
        torch.testing.assert_close(ratio, torch.full_like(ratio, factor), rtol=1e-5, atol=0)
        for s in data['data_samples']:  # back to the original focal length
            intr = list(s.metainfo['intrinsics'])
            s.set_metainfo(dict(intrinsics=[intr[0] / factor] + intr[1:]))
    # D = f_px / (W * C): against the canonical inverse depth of the network itself
    x = torch.nn.functional.interpolate(
        (model.data_preprocessor(data)['inputs'] - 0.5) / 0.5, size=(64, 64), mode='bilinear',
        align_corners=False)
    canonical = model.network.model(pixel_values=x).predicted_depth[:, None]
    inv = torch.nn.functional.interpolate(canonical * 84 / fx, size=(56, 84), mode='bilinear',
                                          align_corners=False)
    out = model(**model.data_preprocessor(data), mode='tensor')
    torch.testing.assert_close(out, 1.0 / inv.clamp(1e-4, 1e4), rtol=1e-5, atol=0)
    # the predicted focal length ignores the intrinsics
    predicted = tiny('depth_pro_tiny', focal='predicted')
    predicted.network.load_state_dict(model.network.state_dict())
    _, preds = run(predicted, data)
    assert preds[0].metainfo['pred_focal_source'] == 'fov_head'
    fov = predicted.network(model.data_preprocessor(data)['inputs'])['fov_deg']
    assert preds[0].metainfo['pred_focal_px'] == pytest.approx(
        0.5 * 84 / math.tan(0.5 * math.radians(float(fov[0]))), rel=1e-5)


def test_depth_pro_focal_modes_without_intrinsics(rgbd_real):
    data = real_batch(rgbd_real, ['sun_rgbd'], limit=1)  # this frame has no intrinsics
    assert data['data_samples'][0].metainfo.get('intrinsics') is None
    _, preds = run(tiny('depth_pro_tiny', focal='intrinsics'), data)
    assert preds[0].metainfo['pred_focal_source'] == 'fov_head'  # falls back
    with pytest.raises(ValueError, match='no usable intrinsics'):
        run(tiny('depth_pro_tiny', focal='intrinsics_required'), data)
    with pytest.raises(ValueError, match='focal mode'):
        MetricDepthBaseline(arch='depth_pro_tiny', pretrained=None, focal='exif')


def test_depth_pro_matches_transformers_post_processing():
    from transformers import DepthProImageProcessor

    model = tiny('depth_pro_tiny')
    images = torch.rand(2, 3, 48, 80)
    ours = model(images, None, mode='tensor')
    proc = DepthProImageProcessor(size=dict(height=64, width=64))
    pixels = proc((images * 255).round().to(torch.uint8), return_tensors='pt')['pixel_values']
    torch.testing.assert_close(pixels, torch.nn.functional.interpolate(
        (images - 0.5) / 0.5, (64, 64), mode='bilinear', align_corners=False), rtol=0,
        atol=0.01)  # the same input up to uint8 rounding
    with torch.no_grad():
        out = model.network.model(pixel_values=torch.nn.functional.interpolate(
            (images - 0.5) / 0.5, (64, 64), mode='bilinear', align_corners=False))
    ref = proc.post_process_depth_estimation(out, target_sizes=[(48, 80)] * 2)
    torch.testing.assert_close(ours[:, 0], torch.stack([r['predicted_depth'] for r in ref]),
                               rtol=1e-5, atol=1e-5)


def test_zoedepth_matches_transformers_post_processing():
    from transformers import ZoeDepthImageProcessor

    model = tiny('zoedepth_k_tiny')  # normed bins: depth varies with the image
    net = model.network
    images = torch.rand(1, 3, 50, 72)
    ours = model(images, None, mode='tensor')
    ph, pw = net.padding(50, 72)
    assert (ph, pw) == (int(3 * math.sqrt(25)), int(3 * math.sqrt(36)))  # 15, 18
    size = net.network_size(50 + 2 * ph, 72 + 2 * pw)
    padded = torch.nn.functional.pad(images, (pw, pw, ph, ph), mode='reflect')
    x = (torch.nn.functional.interpolate(padded, size, mode='bilinear', align_corners=False)
         - 0.5) / 0.5
    with torch.no_grad():
        out, flipped = net.model(pixel_values=x), net.model(pixel_values=x.flip(-1))
    ref = ZoeDepthImageProcessor().post_process_depth_estimation(
        out, source_sizes=[(50, 72)], outputs_flipped=flipped)[0]['predicted_depth']
    torch.testing.assert_close(ours[0, 0], ref, rtol=1e-5, atol=1e-5)
    # without flip averaging: the plain output
    plain = tiny('zoedepth_k_tiny', flip_aug=False)
    ref = ZoeDepthImageProcessor().post_process_depth_estimation(
        out, source_sizes=[(50, 72)])[0]['predicted_depth']
    torch.testing.assert_close(plain(images, None, mode='tensor')[0, 0], ref, rtol=1e-5,
                               atol=1e-5)


def test_zoedepth_nk_routes_each_image_alone():
    model = tiny('zoedepth_nk_tiny', flip_aug=False)
    images = torch.rand(3, 3, 48, 64)
    batch = model(images, None, mode='tensor')
    for i in range(3):
        torch.testing.assert_close(batch[i:i + 1], model(images[i:i + 1], None, mode='tensor'))


def test_depth_anything_metric_head_and_input_size():
    model = tiny('da_v2_metric_tiny')
    assert model.network.network_size(56, 84) == (70, 112)  # 'native': shorter side 70 (toy)
    out = model(torch.rand(2, 3, 56, 84), None, mode='tensor')
    assert out.shape == (2, 1, 56, 84)
    assert (out > 0).all() and (out < 20).all()  # sigmoid x max_depth (20 m, indoor)
    assert tiny('da_v2_metric_tiny', input_size=None).network.network_size(56, 84) == (56, 84)
    with pytest.raises(ValueError, match='fixed network size'):
        MetricDepthBaseline(arch='depth_pro_tiny', pretrained=None, input_size=384)


# ----------------------------------------------------------------------------- loading

@pytest.mark.parametrize('arch', TINY)
def test_save_pretrained_roundtrip_and_checkpoint_policy(arch, tmp_path):
    model = tiny(arch)
    model.network.model.save_pretrained(tmp_path)
    loaded = MetricDepthBaseline(arch=arch, pretrained=str(tmp_path)).eval()
    assert loaded.network.weights_source == str(tmp_path)
    images = torch.rand(1, 3, 40, 56)
    torch.testing.assert_close(loaded(images, None, mode='tensor'),
                               model(images, None, mode='tensor'))
    # pretrained frozen weights are rebuilt from their source, not saved
    assert loaded.state_dict() == {}
    assert set(model.state_dict()) and all(k.startswith('network.') for k in model.state_dict())


def test_loading_failures_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(RuntimeError, match=r"MetricDepthBaseline\(arch='zoedepth_n'\).*hub id"):
        MetricDepthBaseline(arch='zoedepth_n', pretrained='Intel/zoedepth-nyu')
    with pytest.raises(RuntimeError, match='does not exist'):
        MetricDepthBaseline(arch='depth_pro', pretrained=str(tmp_path / 'missing'))
    with pytest.raises(KeyError, match='unknown metric-depth arch'):
        MetricDepthBaseline(arch='zoedepth_x', pretrained=None)
    # a relative Depth Anything checkpoint is not a metric one
    from transformers import AutoModelForDepthEstimation

    from tr2m.models.backbones.relative_depth import build_relative_depth_config

    rel = tmp_path / 'relative'
    AutoModelForDepthEstimation.from_config(build_relative_depth_config('da_tiny')) \
        .save_pretrained(rel)
    with pytest.raises(RuntimeError, match='relative Depth Anything'):
        MetricDepthBaseline(arch='da_v2_metric_tiny', pretrained=str(rel))
    # another family, and a checkpoint that lacks weights of the preset
    with pytest.raises(RuntimeError, match="'depth_anything' model, not 'zoedepth'"):
        MetricDepthBaseline(arch='zoedepth_tiny', pretrained=str(rel))
    single = tmp_path / 'zoe_n'
    tiny('zoedepth_tiny').network.model.save_pretrained(single)
    with pytest.raises(RuntimeError, match=r"1 metric-bins head\(s\) with 'softplus'"):
        MetricDepthBaseline(arch='zoedepth_nk_tiny', pretrained=str(single))
    # weights that do not fit the config the checkpoint comes with
    from safetensors.torch import load_file, save_file

    weights = load_file(single / 'model.safetensors')
    save_file({k: v for k, v in weights.items() if 'seed_bin_regressor' not in k},
              single / 'model.safetensors', metadata=dict(format='pt'))
    with pytest.raises(RuntimeError, match='missing or mismatched'):
        MetricDepthBaseline(arch='zoedepth_tiny', pretrained=str(single))


def test_zoedepth_k_loads_with_kitti_bins(tmp_path):
    """The hub's Intel/zoedepth-kitti config carries the NYU bins (max 10 m); the preset
    restores ZoeDepth's KITTI bins (max 80 m) when loading."""
    from transformers import AutoConfig, AutoModelForDepthEstimation

    cfg = dict(METRIC_DEPTH_PRESETS['zoedepth_k_tiny']['config'])
    cfg['bin_configurations'] = [dict(name='nyu', n_bins=16, min_depth=1e-3, max_depth=10.0)]
    hub_like = AutoModelForDepthEstimation.from_config(AutoConfig.for_model('zoedepth', **cfg))
    hub_like.save_pretrained(tmp_path)
    images = torch.rand(1, 3, 40, 56)
    loaded = MetricDepthBaseline(arch='zoedepth_k_tiny', pretrained=str(tmp_path)).eval()
    assert loaded.network.model.config.bin_configurations[0]['max_depth'] == 80.0
    as_saved = AutoModelForDepthEstimation.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        x = torch.rand(1, 3, 64, 96)
        d80 = loaded.network.model(pixel_values=x).predicted_depth
        d10 = as_saved(pixel_values=x).predicted_depth
    assert float(d10.max()) <= 10.0 < float(d80.max())  # normed bins: capped at max_depth
    assert loaded(images, None, mode='tensor').shape == (1, 1, 40, 56)


def test_predictions_follow_the_protocol_units():
    from mmengine.structures import PixelData

    from tr2m.structures import DepthDataSample

    model = tiny('zoedepth_k_tiny')  # normed bins: the depth depends on the image
    images = torch.rand(1, 3, 42, 56).expand(2, 3, 42, 56)  # one image, twice
    samples = []
    for units in ('m', 'mm'):
        s = DepthDataSample(metainfo=dict(protocol=dict(units=units), img_path=f'{units}.png'))
        s.gt_depth = PixelData(data=torch.ones(1, 42, 56))
        samples.append(s)
    preds = model(images, samples, mode='predict')
    torch.testing.assert_close(preds[1].pred_depth.data, preds[0].pred_depth.data * 1000,
                               rtol=1e-6, atol=0)  # the same images: metres -> millimetres
    samples[0].set_metainfo(dict(protocol=dict(units='furlong')))
    with pytest.raises(ValueError, match="units must be one of .* got 'furlong'"):
        model(images, samples, mode='predict')
