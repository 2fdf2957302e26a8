"""``RSA``: D = 1 / (s * Dr + t) with one (s, t) per image from the caption; only the head
trains; the loss switch."""
import pytest
import torch
from mmengine.structures import PixelData

from tr2m.models.depthers import RSA

REL = dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None)
TXT = dict(type='CLIPTextEncoder', arch='tiny', pretrained=None)


def build(**kw):
    torch.manual_seed(0)
    head = dict(type='GlobalScaleShiftHead', channels=(16, 16), head_channels=(8,),
                init_scale=0.5, init_shift=0.25)
    return RSA(relative_depth=REL, text_encoder=TXT, **{'head': head, **kw})


def test_initial_prediction_and_training(depth_batch):
    model = build()
    assert model.head.scene[0].in_features == model.text_encoder.out_channels == 32
    inputs, samples = depth_batch()
    for s in samples:  # precomputed relative depth: the relative model is skipped
        s.rel_depth = PixelData(data=torch.full((1, 56, 56), 2.0))
    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    expected = 1 / (0.5 * 2.0 + 0.25)
    assert torch.allclose(preds[0].pred_depth.data, torch.full((1, 56, 56), expected))
    assert torch.allclose(preds[1].pred_scale.data, torch.full((1, 56, 56), 0.5))
    model.train()
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_depth', 'rsa_scale', 'rsa_shift'}
    losses['loss_depth'].backward()
    trainable = {n.split('.')[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'head'}
    assert model.head.scale[-1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('loss', [dict(type='L1DepthLoss', huber_delta=0.5),
                                  dict(type='L1DepthLoss', relative=True),
                                  dict(type='SiLogLoss', lambd=0.85)])
def test_loss_switch(loss, depth_batch):
    model = build(loss=loss)
    inputs, samples = depth_batch()
    value = model(inputs, samples, mode='loss')['loss_depth']
    assert torch.isfinite(value) and value > 0


def test_caption_required(depth_batch):
    model = build()
    inputs, samples = depth_batch()
    del samples[1].caption
    with pytest.raises(ValueError, match='img_1.png'):
        model(inputs, samples, mode='predict')
