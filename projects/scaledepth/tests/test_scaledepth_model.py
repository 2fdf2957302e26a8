"""ScaleDepth (small preset) on real RGB-D frames: both losses, the (B x 28) scene similarity
going down over a few training steps, metric depth at the GT size, checkpoint and embedding
round trips, slide/flip inference, the published configuration's size."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

import projects.scaledepth.scaledepth  # noqa: F401 - registers the components
from projects.scaledepth.scaledepth.scaledepth import slide_windows
from projects.scaledepth.scaledepth.scene_categories import SCALEDEPTH_SCENE_CLASSES
from tr2m.registry import DATASETS, MODELS
from tr2m.utils import register_all_modules
from tr2m.utils.errors import CheckpointError, ConfigError

register_all_modules()

SMALL = dict(
    type='ScaleDepth',
    backbone=dict(type='CLIPConvNeXtBackbone', arch='tiny', pretrained=None),
    text_encoder=dict(type='CLIPTextEncoder', arch='tiny', pretrained=None),
    decode_head=dict(type='ScaleDepthHead', channels=32, num_bin_queries=8, num_layers=3,
                     num_heads=4, ffn_channels=64,
                     pixel_decoder=dict(num_layers=1, ffn_channels=64, num_groups=8)),
    # 7-Scenes' "redkitchen" is a kitchen; KITTI is 'outdoor_scene' (released rule)
    scene_labeler=dict(dataset_classes={'kitti': 'outdoor_scene',
                                        '7scenes_redkitchen': 'kitchen'}),
    aux_layers=(0, 1),
)


def build(**overrides):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('tr2m'):
        return MODELS.build({**SMALL, **overrides})


def real_batch(rgbd_real, datasets, size=(64, 96), resize_depth=True, limit=None):
    pipe = [dict(type='LoadRGBImage'), dict(type='LoadDepth'),
            dict(type='Resize', scale=size, resize_depth=resize_depth),
            dict(type='PackDepthInputs')]
    with DefaultScope.overwrite_default_scope('tr2m'):
        ds = DATASETS.build(dict(type='DepthManifestDataset', data_root=str(rgbd_real),
                                 ann_file='manifest.json', datasets=datasets, pipeline=pipe))
    idx = range(len(ds)) if limit is None else range(min(limit, len(ds)))
    return pseudo_collate([ds[i] for i in idx])


@pytest.mark.parametrize('softmax_first', [True, False], ids=['as-released', 'paper-ce'])
def test_trains_on_real_frames_and_the_scene_similarity_goes_down(rgbd_real, softmax_first):
    # As released (CE of the softmax), the loss barely moves while the 100x similarity is
    # saturated on a wrong category, then drops (here after ~9 steps); the paper's CE of the
    # logits drops at once.
    model = build(loss_ti=dict(type='TextImageSimilarityLoss', softmax_first=softmax_first))
    batch = real_batch(rgbd_real, ['7scenes_redkitchen'], limit=2)
    kitti = real_batch(rgbd_real, ['kitti'], limit=2)
    for key in ('inputs', 'data_samples'):
        batch[key] = batch[key] + kitti[key]
    data = model.data_preprocessor(batch, True)
    kitchen = SCALEDEPTH_SCENE_CLASSES.index('kitchen')
    outdoor = SCALEDEPTH_SCENE_CLASSES.index('outdoor_scene')
    labels = torch.tensor([kitchen, kitchen, outdoor, outdoor])
    assert model.scene_labeler(data['data_samples']) == labels.tolist()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def right_category_prob():
        with torch.no_grad():
            logits = model.decode(data['inputs']).scene_logits[-1]
        assert logits.shape == (4, 28)  # B x 28 scene-category similarity
        return logits.softmax(-1)[torch.arange(4), labels].mean().item()

    p0 = right_category_prob()
    history = []
    model.train()
    for _ in range(16):
        losses = model(**data, mode='loss')
        assert {'loss_si', 'loss_ti', 'loss_si_aux0', 'loss_ti_aux0', 'loss_si_aux1',
                'loss_ti_aux1', 'scene_acc', 'scene_scale'} <= set(losses)
        assert all(torch.isfinite(v) for v in losses.values())
        history.append((losses['loss_ti'].item(), losses['loss_si'].item()))
        total = sum(v for k, v in losses.items() if 'loss' in k)
        opt.zero_grad()
        total.backward()
        opt.step()
    (ti0, si0), (ti1, si1) = history[0], history[-1]
    assert ti1 < ti0 and right_category_prob() > p0  # the right category's similarity rises
    assert si1 < si0  # and the metric depth improves


def test_loss_weights_and_deep_supervision(rgbd_real):
    model = build()
    data = model.data_preprocessor(real_batch(rgbd_real, ['kitti'], limit=2), True)
    losses = model(**data, mode='loss')
    out = model.decode(data['inputs'])
    gt = torch.stack([s.gt_depth.data for s in data['data_samples']])
    valid = gt > 0
    for idx, w in ((0, 0.25), (1, 0.5), (2, 1.0)):
        depth = model.metric_depth(out.rel_depth[idx], out.scale[idx], gt.shape[-2:])
        g = torch.log(depth[valid] + 1e-3) - torch.log(gt[valid] + 1e-3)
        expected = w * 10 * torch.sqrt(g.var() + 0.15 * g.mean() ** 2)
        key = 'loss_si' if idx == 2 else f'loss_si_aux{idx}'
        torch.testing.assert_close(losses[key], expected, rtol=1e-4, atol=1e-5)


def test_predict_is_positive_at_the_gt_size(rgbd_real):
    model = build().eval()
    for names, size in ((['nyu_v2'], (480, 640)), (['kitti'], (375, 1242))):
        batch = real_batch(rgbd_real, names, resize_depth=False, limit=2)  # GT kept full size
        with torch.no_grad():
            out = model.test_step(batch)
        for s in out:
            assert s.pred_depth.shape == size
            assert torch.isfinite(s.pred_depth.data).all() and (s.pred_depth.data > 0).all()
    # M = S x R at the network resolution
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        dec = model.decode(x)
        torch.testing.assert_close(model._forward(x), torch.nn.functional.interpolate(
            dec.rel_depth[-1], size=(64, 96), mode='bilinear', align_corners=False)
            * dec.scale[-1].view(-1, 1, 1, 1))


def test_slide_and_flip_inference():
    assert slide_windows(480, 640, (352, 512), (160, 160)) == [
        (0, 352, 0, 512), (0, 352, 128, 640), (128, 480, 0, 512), (128, 480, 128, 640)]
    assert slide_windows(100, 100, (352, 512), (160, 160)) == [(0, 100, 0, 100)]
    whole = build().eval()
    slide = build(test_mode='slide', crop_size=(352, 512), stride=(160, 160)).eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(slide._forward(x), whole._forward(x))  # one window
        small = build(test_mode='slide', crop_size=(64, 64), stride=(32, 32)).eval()
        assert small._forward(x).shape == (1, 1, 64, 96)
        flip = build(flip=True).eval()
        mirrored = flip._forward(x.flip(-1)).flip(-1)
        torch.testing.assert_close(flip._forward(x), mirrored)  # flip-averaging is symmetric
    with pytest.raises(ConfigError, match='crop_size and stride'):
        build(test_mode='slide')
    with pytest.raises(ConfigError, match='test_mode'):
        build(test_mode='tta')


def test_checkpoint_round_trip(tmp_path):
    model = build().eval()
    path = tmp_path / 'scaledepth.pth'
    torch.save(model.state_dict(), path)
    state = torch.load(path, weights_only=True)
    assert 'class_embeddings' in state and any(k.startswith('backbone.') for k in state)
    other = build(decode_head=dict(SMALL['decode_head']))
    with torch.no_grad():  # make sure loading really changes something
        for p in other.parameters():
            p.add_(0.1)
        other.class_embeddings.mul_(2)
    other.load_state_dict(state)
    other.eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(other._forward(x), model._forward(x))
    bigger = build(decode_head=dict(SMALL['decode_head'], num_bin_queries=9))
    with pytest.raises(RuntimeError, match='does not fit ScaleDepth'):
        bigger.load_state_dict(copy.deepcopy(state))


def test_class_embeddings_from_a_file(tmp_path):
    model = build()
    emb = model.class_embeddings.clone()
    torch.save(emb * 3, tmp_path / 'emb.pth')
    torch.save({'class_embeddings': emb}, tmp_path / 'emb_dict.pth')
    loaded = build(text_encoder=None, class_embeddings=str(tmp_path / 'emb.pth'))
    torch.testing.assert_close(loaded.class_embeddings, 3 * emb)  # as given, not re-normalised
    loaded = build(text_encoder=None, class_embeddings=str(tmp_path / 'emb_dict.pth'))
    torch.testing.assert_close(loaded.class_embeddings, emb)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(28))  # computed ones are unit
    torch.save(emb[:5], tmp_path / 'short.pth')
    with pytest.raises(CheckpointError, match=r'\(28, D\)'):
        build(text_encoder=None, class_embeddings=str(tmp_path / 'short.pth'))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        build(text_encoder=None, class_embeddings=str(tmp_path / 'nope.pth'))
    with pytest.raises(ConfigError, match='text_encoder or class_embeddings'):
        build(text_encoder=None)
    extra = build(extra_scene_classes=('endoscopic_scene',))
    assert extra.class_embeddings.shape[0] == 29 and extra.scene_labeler.classes[-1] == (
        'endoscopic_scene')


def test_configuration_errors():
    with pytest.raises(ConfigError, match='aux_layers'):
        build(aux_layers=(2,), aux_si_weights=(1.0,), aux_ti_weights=(1.0,))
    with pytest.raises(ConfigError, match='one entry each'):
        build(aux_layers=(0,))
    with pytest.raises(ConfigError, match='scene_labeler.classes'):
        build(scene_labeler=dict(classes=('a',)))


def test_published_configuration_size(monkeypatch):
    """The released NK model on the meta device (count_params): what trains there is the
    ConvNeXt-L trunk (196.23M) and the head, whose size is computed by hand below."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    spec = importlib.util.spec_from_file_location(
        'count_params', root / 'tools' / 'analysis_tools' / 'count_params.py')
    count_params = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(count_params)
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    counts = count_params.main([str(root / 'projects' / 'scaledepth' / 'configs'
                                    / 'scaledepth_clip_convnext_l_nk_352x512.py')])
    mods = counts['modules']
    assert mods['backbone']['trainable'] == 196_227_264
    c, f_enc, f_dec = 256, 1024, 2048
    linear = lambda i, o, bias=True: i * o + (o if bias else 0)  # noqa: E731
    enc_layer = (linear(c, 8 * 3 * 4 * 2) + linear(c, 8 * 3 * 4) + 2 * linear(c, c)
                 + linear(c, f_enc) + linear(f_enc, c) + 2 * 2 * c)
    pixel_decoder = (sum(linear(i, c) + 2 * c for i in (1536, 768, 384)) + 3 * c  # in, levels
                     + 6 * enc_layer + linear(192, c, False) + 2 * c  # lateral
                     + 9 * c * c + 2 * c + linear(c, c))  # output conv, mask features
    dec_layer = 2 * (linear(c, 3 * c) + linear(c, c)) + linear(c, f_dec) + linear(f_dec, c) + 6 * c
    queries = 2 * 67 * c + 3 * c  # query_feat, query_embed, level_embed
    arde = 2 * c + linear(c, 1) + 3 * linear(c, c)
    sasp = linear(3 * c, 1)
    head = pixel_decoder + 9 * dec_layer + queries + arde + sasp
    assert head == 20_232_898
    assert mods['decode_head']['trainable'] == head
    assert counts['trainable'] == counts['total'] == 196_227_264 + head  # 216.46M


def test_released_optimiser_groups():
    """lr x0.1 on the backbone; no weight decay on the head's norms, queries and level
    embeddings; the backbone keeps it everywhere (its custom key wins, as released)."""
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    cfg = Config.fromfile(str(Path(__file__).resolve().parents[1] / 'configs'
                              / 'scaledepth_clip_convnext_l_nk_352x512.py'))
    model = build(decode_head=dict(SMALL['decode_head'], type='ScaleDepthHead'))
    with DefaultScope.overwrite_default_scope('tr2m'):
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = {names[id(p)]: (g['lr'], g['weight_decay'])
              for g in wrapper.optimizer.param_groups for p in g['params']}
    assert groups['backbone.stem.0.weight'] == (1e-5, 0.05)
    assert groups['backbone.stages.0.blocks.0.norm.weight'] == (1e-5, 0.05)
    assert groups['decode_head.layers.0.norms.0.weight'] == (1e-4, 0.0)
    assert groups['decode_head.query_feat.weight'] == (1e-4, 0.0)
    assert groups['decode_head.level_embed.weight'] == (1e-4, 0.0)
    assert groups['decode_head.layers.0.ffn.0.weight'] == (1e-4, 0.05)
    assert wrapper.clip_grad_kwargs == dict(max_norm=0.01, norm_type=2)
    assert len(groups) == len(names)


def test_demo_config_as_written():
    """The demo builds as written (real MiniLM prompts: 29 x 384 = 3 queries x 128, so no
    projection), and its labeler maps the three synthetic domains."""
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.structures import BaseDataElement

    cfg = Config.fromfile(str(Path(__file__).resolve().parents[1] / 'configs'
                              / 'scaledepth_synthetic.py'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('tr2m'):
        model = MODELS.build(cfg.model)
    assert model.class_embeddings.shape == (29, 384)
    assert isinstance(model.decode_head.sasp.text_proj, torch.nn.Identity)
    samples = []
    for name, cap in (('synthetic_indoor', 'A small living room with a bed against the wall.'),
                      ('synthetic_outdoor', 'A wide street.'),
                      ('synthetic_endoscopic', 'An endoscopic view.')):
        s = BaseDataElement(metainfo=dict(dataset_name=name, img_path='train/x/0000_rgb.png'))
        s.caption = cap
        samples.append(s)
    names = [model.scene_classes[i] for i in model.scene_labeler(samples)]
    assert names == ['living_room', 'outdoor_scene', 'endoscopic_scene']
