"""TR2M loss / predict on real frames (tiny random presets), freezing, EMA, checkpoint policy."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from tr2m.registry import DATASETS, MODELS
from tr2m.utils import register_all_modules

register_all_modules()

TINY_TR2M = dict(
    type='TR2M',
    relative_depth=dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None),
    image_encoder=dict(type='DINOv2Encoder', arch='vit_tiny14', pretrained=None),
    text_encoder=dict(type='SentenceTextEncoder'),  # the real, offline MiniLM
    neck=dict(type='CrossModalAttentionNeck', num_heads=4),
    scale_head=dict(type='RescaleHead', channels=16),
    shift_head=dict(type='RescaleHead', channels=16),
    loss_pseudo=dict(type='ThresholdedPseudoDepthLoss'),
    loss_smooth=dict(type='EdgeAwareSmoothnessLoss'),
    soc=dict(type='ScaleOrientedContrast',
             projector=dict(type='SOCProjector', hidden_channels=16, out_channels=16)),
)


def build_model(**overrides):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('tr2m'):
        return MODELS.build({**TINY_TR2M, **overrides})


def real_batch(rgbd_real, datasets, size=(70, 112), load_depth_first=True):
    load = [dict(type='LoadDepth')]
    resize = [dict(type='Resize', scale=size, resize_depth=load_depth_first)]
    pipe = [dict(type='LoadRGBImage'), *(load + resize if load_depth_first else resize + load),
            dict(type='LoadCaption', fallback='a photo of a scene'), dict(type='PackDepthInputs')]
    with DefaultScope.overwrite_default_scope('tr2m'):
        ds = DATASETS.build(dict(type='DepthManifestDataset', data_root=str(rgbd_real),
                                 ann_file='manifest.json', datasets=datasets, pipeline=pipe))
    return pseudo_collate([ds[i] for i in range(len(ds))])


def test_loss_on_real_nyu_and_kitti_frames(rgbd_real):
    model = build_model()
    model.train()
    for names in (['nyu_v2'], ['kitti']):  # dense-ish indoor GT and sparse LiDAR GT
        data = model.data_preprocessor(real_batch(rgbd_real, names), True)
        losses = model(**data, mode='loss')
        assert {'loss_silog', 'loss_pseudo', 'loss_soc', 'loss_smooth', 'pseudo_pass_frac',
                'soc_pos_frac'} <= set(losses)
        assert all(torch.isfinite(v).all() for v in losses.values())
        total = sum(v for k, v in losses.items() if 'loss' in k)
        model.zero_grad()
        total.backward()
        for name, p in model.named_parameters():
            frozen = name.startswith(('relative_depth.', 'image_encoder.', 'text_encoder.',
                                      'soc.momentum_'))
            assert p.requires_grad is not frozen, name
            if frozen:
                assert p.grad is None, name
        # the heads' last conv starts at zero (A = B = 1), so at the first step only it and
        # (through the contrastive branch) the neck's attention receive gradients
        assert model.scale_head.out[-1].weight.grad.abs().sum() > 0
        assert model.shift_head.out[-1].weight.grad.abs().sum() > 0
        for part in (model.neck.q, model.neck.k_img, model.neck.v_img, model.neck.out_img):
            assert part.weight.grad.abs().sum() > 0


def test_frozen_parts_stay_in_eval_mode_when_training():
    model = build_model()
    model.train()
    for part in (model.relative_depth, model.image_encoder, model.text_encoder,
                 model.soc.momentum_branch, model.soc.momentum_projector):
        assert not part.training and not any(m.training for m in part.modules())
    assert model.scale_head.training and model.neck.training


def test_predict_at_gt_resolution(rgbd_real):
    model = build_model().eval()
    batch = real_batch(rgbd_real, ['nyu_v2'], load_depth_first=False)  # GT stays 480x640
    with torch.no_grad():
        out = model.test_step(batch)
    for s in out:
        assert s.pred_depth.shape == (480, 640) == s.pred_rel_depth.shape
        assert torch.isfinite(s.pred_depth.data).all() and (s.pred_depth.data > 0).all()
        # eq. 3 holds pixel-wise at the network resolution
    x = model.data_preprocessor(batch)['inputs']
    run = model._run(x, batch['data_samples'])
    torch.testing.assert_close(run['depth'], 1 / (run['scale'] * run['rel'] + run['shift']))


def test_momentum_update_is_an_ema():
    model = build_model(soc=dict(TINY_TR2M['soc'], momentum=0.9))
    with torch.no_grad():
        for p in list(model.soc.projector.parameters()) + list(model.neck.parameters()):
            p.add_(1.0)
    live = list(model.soc.projector.parameters()) + list(model.neck.parameters())
    ema = (list(model.soc.momentum_projector.parameters())
           + list(model.soc.momentum_branch[0].parameters()))
    before = [p.clone() for p in ema]
    model.soc.momentum_update()
    for b, q, k in zip(before, live, ema):
        torch.testing.assert_close(k, 0.9 * b + 0.1 * q)


def test_checkpoint_policy_and_foreign_checkpoints():
    model = build_model()
    state = model.state_dict()
    # the pretrained (MiniLM) text encoder is rebuilt from its source, not saved
    assert not any(k.startswith('text_encoder.') for k in state)
    # random-init frozen parts and the EMA branch are saved
    assert any(k.startswith('image_encoder.') for k in state)
    assert any(k.startswith('soc.momentum_projector.') for k in state)
    other = build_model()
    other.load_state_dict(copy.deepcopy(state))
    for k, v in other.state_dict().items():
        torch.testing.assert_close(v, state[k])
    smaller = build_model(scale_head=dict(type='RescaleHead', channels=8))
    with pytest.raises(RuntimeError, match='does not fit TR2M'):
        smaller.load_state_dict(state)
    with pytest.raises(RuntimeError, match='missing keys'):
        model.load_state_dict({'foo.weight': torch.zeros(1)})


def test_empty_caption_is_an_error_naming_the_image(rgbd_real):
    model = build_model().eval()
    batch = real_batch(rgbd_real, ['tum_rgbd'])
    batch['data_samples'][0].caption = ' '
    with pytest.raises(ValueError, match='TUM_color.png'):
        model.test_step(batch)


@pytest.mark.parametrize('overrides', [
    dict(shift_head=None), dict(scale_head=None),
    dict(loss_pseudo=None, soc=None, loss_smooth=None),
    dict(neck=dict(type='CrossModalAttentionNeck', modalities=('image',)), text_encoder=None),
    dict(neck=dict(type='CrossModalAttentionNeck', text_tokens='all', num_heads=2)),
], ids=['scale-only', 'shift-only', 'silog-only', 'image-only', 'all-tokens'])
def test_variants_train(rgbd_real, overrides):
    model = build_model(**overrides).train()
    data = model.data_preprocessor(real_batch(rgbd_real, ['nyu_v2']), True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
