"""TR2M with shared tokens (``image_tokens='relative_depth'``): the neck reads the relative-depth
model's own encoder tokens, projected; no second ViT; the paper config unchanged; the cache."""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from tr2m.models.backbones.relative_depth import TransformersRelativeDepth
from tr2m.models.encoders.dinov2 import DINOv2Encoder
from tr2m.registry import MODELS
from tr2m.utils import register_all_modules

REPO = Path(__file__).resolve().parents[3]
SHARED_S = REPO / 'configs' / 'tr2m' / 'tr2m_da_s_shared_tokens.py'
SHARED_L = REPO / 'configs' / 'tr2m' / 'tr2m_da_l_shared_tokens.py'
register_all_modules()


def _tinify():
    spec = importlib.util.spec_from_file_location('tr2m_test_configs_tinify',
                                                  REPO / 'tests' / 'test_configs.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tinify


def tiny_shared_model(seed=0):
    cfg = Config.fromfile(str(SHARED_S)).model.to_dict()
    cfg = _tinify()(cfg)
    cfg['token_channels'] = 24  # the projection, at toy width
    torch.manual_seed(seed)
    return MODELS.build(cfg), cfg


def test_configs_share_tokens_and_the_paper_config_is_unchanged():
    paper = Config.fromfile(str(REPO / 'configs' / 'tr2m_da_s.py')).model
    assert paper.image_encoder.type == 'DINOv2Encoder' and paper.image_encoder.arch == 'vitl14'
    assert 'image_tokens' not in paper and 'token_channels' not in paper
    for path, arch in ((SHARED_S, 'da_v1_s'), (SHARED_L, 'da_v1_l')):
        m = Config.fromfile(str(path)).model
        assert m.image_encoder is None and m.image_tokens == 'relative_depth'
        assert m.token_channels == 1024 and m.relative_depth.arch == arch
        assert m.neck == paper.neck and m.scale_head == paper.scale_head  # the rest as printed


def test_no_image_encoder_and_one_vit():
    model, _ = tiny_shared_model()
    assert model.image_encoder is None
    assert not any(isinstance(m, DINOv2Encoder) for m in model.modules())
    vits = [n for n, m in model.named_modules() if type(m).__name__ == 'Dinov2Backbone']
    assert vits == ['relative_depth.model.backbone']
    assert model.frozen_widths['image'] == model.relative_depth.token_channels == 32
    assert model.token_proj.in_channels == 32 and model.token_proj.out_channels == 24
    assert model.neck.out_channels == 24 or model.neck.in_channels == 24


def test_tokens_are_the_relative_backbones_hidden_states_projected(depth_batch):
    model, _ = tiny_shared_model()
    model.eval()
    inputs, samples = depth_batch(size=(56, 70))
    seen = []
    handle = model.neck.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        model(inputs, samples, mode='predict')
    handle.remove()
    rel_model = model.relative_depth
    # the reference: the backbone's last hidden state, layer-normed, class token dropped
    x = rel_model._network_input(inputs)
    with torch.no_grad():
        out = rel_model.model.backbone(pixel_values=x, output_hidden_states=True)
        last = rel_model.model.backbone.layernorm(out.hidden_states[-1])[:, 1:]  # (B, N, 32)
        grid = last.transpose(1, 2).reshape(2, 32, 56 // 14, 70 // 14)
        ref = model.token_proj(grid)
        rel_ref = rel_model(inputs)
    assert seen[0].shape == (2, 24, 4, 5)
    assert torch.allclose(seen[0], ref, atol=1e-6, rtol=1e-5)
    with torch.no_grad():
        rel, tokens = model.frozen_image_features(inputs, samples)
    assert torch.allclose(tokens, grid, atol=1e-6) and torch.allclose(rel, rel_ref, atol=1e-6)


def test_trains_a_step(depth_batch):
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    model, _ = tiny_shared_model()
    model.train()
    frozen = {k: v.clone() for k, v in model.relative_depth.state_dict().items()}
    proj = model.token_proj.weight.detach().clone()
    with DefaultScope.overwrite_default_scope('tr2m'):
        optim = build_optim_wrapper(model, dict(
            optimizer=dict(type='AdamW', lr=1e-3), constructor='TrainableOptimWrapperConstructor'))
    inputs, samples = depth_batch(size=(56, 70))
    batch = dict(inputs=[(x * 255).to(torch.uint8) for x in inputs], data_samples=samples)
    log = model.train_step(batch, optim)
    assert {'loss_silog', 'loss_pseudo', 'loss_soc', 'loss_smooth'} <= set(log)
    assert all(torch.isfinite(v) for k, v in log.items() if 'loss' in k)
    assert not torch.equal(model.token_proj.weight, proj)  # the projection trains
    assert all(torch.equal(v, frozen[k]) for k, v in model.relative_depth.state_dict().items())


def test_bad_settings_fail_loudly():
    _, cfg = tiny_shared_model()
    with pytest.raises(ValueError, match='image_encoder=None'):
        MODELS.build(dict(cfg, image_encoder=dict(type='DINOv2Encoder', arch='vit_tiny14',
                                                  pretrained=None)))
    with pytest.raises(ValueError, match='image_tokens must be one of'):
        MODELS.build(dict(cfg, image_tokens='dino'))
    with pytest.raises(ValueError, match='gives no tokens'):
        MODELS.build(dict(cfg, relative_depth=dict(type='TransformersRelativeDepth',
                                                   arch='dpt_tiny', pretrained=None)))
    with pytest.raises(ValueError, match='needs an image_encoder'):
        MODELS.build(dict(cfg, image_tokens='encoder'))
    dpt = TransformersRelativeDepth(arch='dpt_tiny', pretrained=None)
    assert dpt.token_channels is None
    with pytest.raises(ValueError, match='Depth Anything'):
        dpt.forward_with_tokens(torch.rand(1, 3, 64, 64))


def test_feature_cache_serves_shared_tokens(tmp_path):
    from tr2m.analysis.benchmark import attach_cached, make_batch, write_batch_cache
    from tr2m.cache import LoadCachedFeatures
    from tr2m.cache.mode import cached_components

    model, cfg = tiny_shared_model()
    model.eval()
    batches = [make_batch(2, (56, 70), step) for step in range(1)]
    loader = LoadCachedFeatures(write_batch_cache(model, batches, str(tmp_path), 'float16',
                                                  False))
    ccfg = dict(cfg, **cached_components(cfg, str(tmp_path)))
    assert 'image_encoder' not in cached_components(cfg, str(tmp_path))
    torch.manual_seed(0)
    cached = MODELS.build(ccfg).eval()
    assert cached.frozen_widths['image'] == 32
    assert torch.equal(cached.token_proj.weight, model.token_proj.weight)  # same init
    batch = attach_cached(batches[0], loader)
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        rel, img = model.frozen_image_features(data['inputs'], data['data_samples'])
        crel, cimg = cached.frozen_image_features(data['inputs'], data['data_samples'])
        out = model(data['inputs'], data['data_samples'], mode='tensor')
        cout = cached(data['inputs'], data['data_samples'], mode='tensor')
    assert torch.equal(crel, rel.half().float()) and torch.equal(cimg, img.half().float())
    assert torch.allclose(cout, out, rtol=1e-2)
