"""``RSA`` as released: D = 1 / (s * Dr + t) with one (s, t) per image from the caption; a step
holds one sub-batch per dataset, each run on its own; per-dataset loss normalisation (as
released: KITTI raw; as intended) against hand-computed gradients; training on real frames of
two datasets at different sizes."""
import copy

import pytest
import torch
from mmengine.dataset import ConcatDataset
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.structures import PixelData

from tr2m.models.depthers import RSA
from tr2m.models.depthers.rsa import combine_dataset_losses, normalize_by_detached_norm
from tr2m.registry import DATASETS

REL = dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None)
TXT = dict(type='CLIPTextEncoder', arch='tiny', pretrained=None)
HEAD = dict(type='GlobalScaleShiftHead', channels=(16, 16), head_channels=(8,))


def build(**kw):
    torch.manual_seed(0)
    return RSA(relative_depth=REL, text_encoder=TXT, **{'head': HEAD, **kw})


def two_dataset_batch(depth_batch, names=('nyu', 'kitti', 'nyu', 'kitti')):
    """The conftest batch, its samples renamed to ``names``, with a precomputed ``Dr``."""
    inputs, samples = depth_batch(batch=len(names))
    for i, (s, name) in enumerate(zip(samples, names)):
        s.set_metainfo(dict(dataset_name=name))
        s.rel_depth = PixelData(data=torch.full((1, 56, 56), 0.5 + 0.25 * i))
    return inputs, samples


def head_grads(model, loss):
    params = [p for p in model.head.parameters()]
    return torch.autograd.grad(loss, params)


def test_initial_prediction_and_only_the_head_trains(depth_batch):
    model = build(head={**HEAD, 'init_scale': 0.5, 'init_shift': 0.25})
    assert model.head.scene[0].in_features == model.text_encoder.out_channels == 32
    inputs, samples = depth_batch()
    for s in samples:  # precomputed relative depth: the relative model is skipped
        s.rel_depth = PixelData(data=torch.full((1, 56, 56), 2.0))
    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    assert torch.allclose(preds[0].pred_depth.data, torch.full((1, 56, 56), 1 / (0.5 * 2 + 0.25)))
    assert torch.allclose(preds[1].pred_scale.data, torch.full((1, 56, 56), 0.5))
    model.train()
    losses = model(inputs, samples, mode='loss')  # one dataset ('toy'): one normalised loss
    assert set(losses) == {'loss_toy', 'err_toy', 'rsa_scale', 'rsa_shift'}
    assert losses['loss_toy'].item() == pytest.approx(1.0)
    losses['loss_toy'].backward()
    trainable = {n.split('.')[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'head'}
    assert model.head.scale[-1].weight.grad.abs().sum() > 0


def test_default_loss_is_released_huber(depth_batch):
    model = build()
    assert type(model.loss_depth).__name__ == 'HuberDepthLoss'
    assert model.loss_depth.delta == 1.0 and model.loss_depth.reduction == 'released'
    assert model.loss_norm == 'as_released' and model.unnormalised_datasets == ('kitti',)
    assert model.data_preprocessor.mixed_sizes == 'list'


def test_combine_by_hand():
    """Scalar parameter p = 2; L_nyu = 2p^2 = 8, L_kitti = 3p = 6, L_void = p^3 = 8.
    d/dp of L / |L| (detached) = L' / |L|: nyu 8/8 = 1, kitti 3/6 = 0.5, void 12/8 = 1.5."""
    def grad(mode):
        p = torch.tensor(2.0, requires_grad=True)
        out = combine_dataset_losses(dict(nyu=2 * p ** 2, kitti=3 * p, void=p ** 3), mode)
        total = sum(out.values())
        total.backward()
        return total.item(), p.grad.item()

    value, g = grad('as_released')  # KITTI's raw: 1 + 6 + 1, 1 + 3 + 1.5
    assert value == pytest.approx(8.0) and g == pytest.approx(5.5)
    value, g = grad('as_intended')
    assert value == pytest.approx(3.0) and g == pytest.approx(3.0)
    value, g = grad('none')
    assert value == pytest.approx(22.0) and g == pytest.approx(8 + 3 + 12)
    with pytest.raises(ValueError, match='loss_norm'):
        grad('sum')
    # the release's eps: 1e-8 added to the norm, so a zero loss stays 0 (no NaN)
    z = torch.zeros((), requires_grad=True)
    assert normalize_by_detached_norm(z * 1.0).item() == 0.0


@pytest.mark.parametrize('mode', ['as_released', 'as_intended', 'none'])
def test_step_gradient_equals_per_dataset_backward(mode, depth_batch):
    """The head's gradient of the step = sum over datasets of the gradient of each dataset run
    alone, divided by its loss unless kept raw -- RSA's one backward per dataset."""
    model = build(loss_norm=mode)
    raw_model = build(loss_norm='none')  # same seed: the same weights, raw losses
    model.train()
    raw_model.train()
    inputs, samples = two_dataset_batch(depth_batch)
    losses = model(inputs, samples, mode='loss')
    assert {k for k in losses if k.startswith('loss_')} == {'loss_nyu', 'loss_kitti'}
    got = head_grads(model, losses['loss_nyu'] + losses['loss_kitti'])
    want = [torch.zeros_like(g) for g in got]
    for name, idx in (('nyu', [0, 2]), ('kitti', [1, 3])):
        raw = raw_model(inputs[idx], [samples[i] for i in idx], mode='loss')[f'loss_{name}']
        assert raw.item() == pytest.approx(losses[f'err_{name}'].item(), rel=1e-6)
        keep_raw = mode == 'none' or (mode == 'as_released' and name == 'kitti')
        for w, g in zip(want, head_grads(raw_model, raw)):
            w += g if keep_raw else g / raw.item()
    for g, w in zip(got, want):
        assert torch.allclose(g, w, rtol=1e-4, atol=1e-8)
    if mode == 'as_released':
        assert losses['loss_nyu'].item() == pytest.approx(1.0)
        assert losses['loss_kitti'].item() == pytest.approx(losses['err_kitti'].item())


def test_protocol_range_masks_training_pixels(depth_batch):
    model = build()
    inputs, samples = two_dataset_batch(depth_batch, names=('nyu', 'nyu'))
    full = model(inputs, samples, mode='loss')['err_nyu']
    for s in samples:  # GT is 1..7.2 m: a 0.5 m maximum leaves no pixel
        s.set_metainfo(dict(protocol=dict(min_depth=1e-3, max_depth=0.5, crop=None, units='m')))
    assert full > 0 and model(inputs, samples, mode='loss')['err_nyu'].item() == 0
    off = build(protocol_range=False)
    assert off(inputs, samples, mode='loss')['err_nyu'].item() == pytest.approx(full.item())


def test_mixed_sizes_grouped_and_predicted_as_alone(depth_batch):
    model = build()
    model.eval()
    a, sa = depth_batch(size=(42, 56), batch=2, seed=0)
    b, sb = depth_batch(size=(28, 70), batch=1, seed=1)
    for s in sa:
        s.set_metainfo(dict(dataset_name='nyu'))
    sb[0].set_metainfo(dict(dataset_name='kitti'))
    data = dict(inputs=[(a[0] * 255).byte(), (b[0] * 255).byte(), (a[1] * 255).byte()],
                data_samples=[sa[0], sb[0], sa[1]])
    out = model.data_preprocessor(data, True)
    assert isinstance(out['inputs'], list) and out['inputs'][1].shape == (3, 28, 70)
    with torch.no_grad():
        mixed = model(**out, mode='predict')
        alone = model(torch.stack([out['inputs'][0], out['inputs'][2]]),
                      copy.deepcopy([sa[0], sa[1]]), mode='predict')
    assert [p.pred_depth.shape for p in mixed] == [(42, 56), (28, 70), (42, 56)]
    assert torch.allclose(mixed[2].pred_depth.data, alone[1].pred_depth.data, atol=1e-6)
    model.train()
    losses = model(**out, mode='loss')
    assert {'loss_nyu', 'loss_kitti'} <= set(losses)
    with pytest.raises(ValueError, match="mode='predict'"):
        model(out['inputs'], out['data_samples'], mode='tensor')
    sb[0].set_metainfo(dict(dataset_name='nyu'))  # one dataset at two sizes in one step
    with pytest.raises(ValueError, match="dataset 'nyu'"):
        model(**model.data_preprocessor(data, True), mode='loss')
    strict = build(data_preprocessor=dict(type='DepthDataPreprocessor'))  # the default
    with pytest.raises(ValueError, match='share their size'):
        strict.data_preprocessor(data, True)


@pytest.mark.parametrize('loss', [dict(type='L1DepthLoss', huber_delta=0.5),
                                  dict(type='HuberDepthLoss', reduction='mean'),
                                  dict(type='SiLogLoss', lambd=0.85)])
def test_loss_switch(loss, depth_batch):
    model = build(loss=loss)
    inputs, samples = depth_batch()
    value = model(inputs, samples, mode='loss')['err_toy']
    assert torch.isfinite(value) and value > 0


def test_bad_arguments_and_captions(depth_batch):
    with pytest.raises(ValueError, match='loss_norm'):
        build(loss_norm='mean')
    model = build()
    inputs, samples = depth_batch()
    del samples[1].caption
    with pytest.raises(ValueError, match='img_1.png'):
        model(inputs, samples, mode='predict')


def test_trains_on_real_frames_of_two_datasets_at_two_sizes(rgbd_real):
    """Real NYUv2 (480x640) and KITTI (375x1242) frames, each resized by its own pipeline, one
    sub-batch of each per step (PerDatasetBatchSampler); RSA's optimiser settings."""
    def dataset(name, size, max_depth):
        pipe = [dict(type='LoadRGBImage'), dict(type='LoadDepth'),
                dict(type='Resize', scale=size), dict(type='LoadCaption', fallback='a scene'),
                dict(type='PackDepthInputs')]
        return DATASETS.build(dict(type='DepthManifestDataset', data_root=str(rgbd_real),
                                   ann_file='manifest.json', datasets=[name],
                                   protocols={name: dict(max_depth=max_depth)}, pipeline=pipe,
                                   dataset_name=name))

    with DefaultScope.overwrite_default_scope('tr2m'):
        mixed = ConcatDataset([dataset('nyu_v2', (60, 80), 10.0),
                               dataset('kitti', (36, 120), 80.0)],
                              ignore_keys=['dataset_name', 'protocol'])
        loader = Runner.build_dataloader(dict(
            dataset=mixed, batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='PerDatasetBatchSampler'),
            collate_fn=dict(type='pseudo_collate')), seed=0)
    model = build()
    model.train()
    optim = OptimWrapper(torch.optim.Adam(model.head.parameters(), lr=1e-3),
                         clip_grad=dict(max_norm=1.0))
    batch = next(iter(loader))
    assert [tuple(x.shape[-2:]) for x in batch['inputs']] == [(60, 80)] * 2 + [(36, 120)] * 2
    before = copy.deepcopy(model.head.state_dict())
    errs = []
    for _ in range(6):  # the same step six times: RSA's per-step recipe lowers both losses
        log = model.train_step(batch, optim)
        assert {'loss_nyu_v2', 'loss_kitti', 'err_nyu_v2', 'err_kitti'} <= set(log)
        assert log['loss_nyu_v2'].item() == pytest.approx(1.0)  # normalised; KITTI raw
        assert log['loss_kitti'].item() == pytest.approx(log['err_kitti'].item())
        errs.append((log['err_nyu_v2'].item(), log['err_kitti'].item()))
    assert errs[-1][0] < errs[0][0] and errs[-1][1] < errs[0][1]
    after = model.head.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values())
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert len(loader) == 2  # 3 frames of each dataset at 2 per step
