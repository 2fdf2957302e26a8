"""``TR2M`` with toy components: the ablation switches, eq. 3, and the checkpoint policy."""
import pytest
import torch

from tr2m.models.depthers import TR2M
from tr2m.models.encoders import DINOv2Encoder

REL = dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None)
IMG = dict(type='DINOv2Encoder', arch='vit_tiny14', pretrained=None)
TXT = dict(type='CLIPTextEncoder', arch='tiny', pretrained=None)
HEAD = dict(type='RescaleHead', channels=8)
LOSSES = dict(
    loss_pseudo=dict(type='ThresholdedPseudoDepthLoss', rho=0.0, loss_weight=0.5),
    loss_smooth=dict(type='EdgeAwareSmoothnessLoss', loss_weight=0.01),
    soc=dict(type='ScaleOrientedContrast', loss_weight=0.1,
             projector=dict(type='SOCProjector', hidden_channels=8, out_channels=8)))


def build(image_encoder=IMG, text_encoder=TXT, neck=None, scale_head=HEAD, shift_head=HEAD,
          **losses):
    neck = neck or dict(type='CrossModalAttentionNeck', num_heads=2)
    return TR2M(relative_depth=REL, image_encoder=image_encoder, text_encoder=text_encoder,
                neck=neck, scale_head=scale_head, shift_head=shift_head, **{**LOSSES, **losses})


ABLATIONS = {
    'paper': dict(),
    'text_only': dict(neck=dict(type='CrossModalAttentionNeck', modalities=('text',))),
    'image_only': dict(neck=dict(type='CrossModalAttentionNeck', modalities=('image',)),
                       text_encoder=None),
    'param_free_neck': dict(neck=dict(type='CrossModalAttentionNeck', qkv_proj=False)),
    'scale_only': dict(shift_head=None),
    'shift_only': dict(scale_head=None),
    'global_factors': dict(scale_head=dict(HEAD, global_pool=True),
                           shift_head=dict(HEAD, global_pool=True)),
    'all_tokens': dict(neck=dict(type='CrossModalAttentionNeck', text_tokens='all',
                                 num_heads=2)),
    'silog_only': dict(loss_pseudo=None, soc=None, loss_smooth=None),
}


@pytest.mark.parametrize('name', sorted(ABLATIONS))
def test_ablation_switches(name, depth_batch):
    torch.manual_seed(0)
    model = build(**ABLATIONS[name])
    inputs, samples = depth_batch()
    model.train()
    losses = model(inputs, samples, mode='loss')
    expected = {'loss_silog'} | ({'loss_pseudo', 'loss_soc', 'loss_smooth'}
                                 if name != 'silog_only' else set())
    assert expected == {k for k in losses if k.startswith('loss')}
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    scale, shift = preds[0].pred_scale.data, preds[0].pred_shift.data
    if name == 'scale_only':
        assert (shift == 0).all()
    if name == 'shift_only':
        assert (scale == 1).all()
    if name == 'global_factors':
        assert torch.allclose(scale, scale.flatten()[0].expand_as(scale))
    rel = preds[0].pred_rel_depth.data
    assert torch.allclose(preds[0].pred_depth.data,
                          1 / (scale * rel + shift).clamp_min(1e-8), rtol=1e-4)  # eq. 3


def test_image_only_needs_no_caption(depth_batch):
    model = build(**ABLATIONS['image_only'])
    inputs, samples = depth_batch()
    for s in samples:
        del s.caption
    model.eval()
    with torch.no_grad():
        assert model(inputs, samples, mode='tensor').shape == (2, 1, 56, 56)


def test_text_neck_without_text_encoder_fails():
    with pytest.raises(ValueError, match='text'):
        build(text_encoder=None)


def test_checkpoint_policy(tmp_path, depth_batch):
    torch.manual_seed(0)
    DINOv2Encoder(arch='vit_tiny14', pretrained=None).model.save_pretrained(tmp_path)
    image_encoder = dict(IMG, pretrained=str(tmp_path))
    model = build(image_encoder=image_encoder)
    state = model.state_dict()
    assert not any(k.startswith('image_encoder.') for k in state)  # rebuilt from the source
    assert any(k.startswith('relative_depth.') for k in state)  # random frozen parts are saved
    assert any(k.startswith('text_encoder.') for k in state)
    assert any(k.startswith('soc.momentum_branch.0.') for k in state)  # the EMA neck is saved
    torch.manual_seed(1)
    other = build(image_encoder=image_encoder)
    other.load_state_dict(state)  # strict: the pretrained encoder's keys are not expected
    inputs, samples = depth_batch()
    model.eval()
    other.eval()
    with torch.no_grad():
        assert torch.equal(model(inputs, samples), other(inputs, samples))
    wider = build(image_encoder=image_encoder, scale_head=dict(HEAD, channels=16))
    with pytest.raises(RuntimeError, match='checkpoint does not fit TR2M'):
        wider.load_state_dict(state)
    without_soc = build(image_encoder=image_encoder, soc=None)
    with pytest.raises(RuntimeError, match='unexpected keys'):
        without_soc.load_state_dict(state)


def test_tr2m_names_soc_in_its_signature():
    """``soc=None`` is an argument of ``TR2M.__init__`` itself (no metaclass adds it)."""
    import inspect

    params = inspect.signature(TR2M.__init__).parameters
    assert 'soc' in params and params['soc'].default is None
    assert 'neck' in params
    model = build(soc=None)
    assert model.soc is None


def test_pseudo_loss_takes_the_silog_form():
    zoe = build(loss_silog=dict(type='SiLogLoss', form='zoedepth', beta=0.2))
    assert zoe.loss_pseudo.form == 'zoedepth'
    assert zoe.loss_pseudo.silog_kwargs == dict(lambd=0.8, sqrt=True, scale=10.0,
                                                reduction='image')
    own = build(loss_silog=dict(type='SiLogLoss', form='zoedepth'),
                loss_pseudo=dict(type='ThresholdedPseudoDepthLoss', form='paper'))
    assert own.loss_pseudo.form == 'paper'
