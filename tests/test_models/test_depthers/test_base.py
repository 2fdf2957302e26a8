"""``BaseDepther``: SOC as a named argument of every depther, and the training step's call
graph (loss -> capture -> SOC) with the GT stacked once and shared."""
import inspect

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from torch import nn

from tr2m.models.contrast import ScaleOrientedContrast
from tr2m.models.depthers import RSA, TR2M, MetricDepthBaseline, RelativeDepthBaseline
from tr2m.models.depthers.base import BaseDepther, GroundTruth
from tr2m.structures import DepthDataSample

PROJ = dict(type='SOCProjector', hidden_channels=8, out_channels=8)


class _ConvDepther(BaseDepther):
    """Two convs: ``feat`` (8 channels, stride 2) -> ``head`` -> exp, upsampled."""

    def __init__(self, soc=None):
        super().__init__()
        self.feat = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.feat.out_channels = 8
        self.head = nn.Conv2d(8, 1, 1)
        self.attach_soc(soc)
        self.seen_gt = []  # the GT each loss call worked with

    def _forward(self, inputs, data_samples=None):
        depth = self.head(self.feat(inputs)).exp()  # (B, 1, H/2, W/2)
        return nn.functional.interpolate(depth, size=inputs.shape[-2:], mode='bilinear')

    def loss(self, inputs, data_samples, gt=None):
        self.seen_gt.append(gt)
        self.capturing_during_loss = self.soc is not None and self.soc._capturing
        gt, valid = gt if gt is not None else self.stack_gt(inputs, data_samples)
        return dict(loss_l1=(self._forward(inputs) - gt).abs()[valid].mean())

    def predict(self, inputs, data_samples=None):
        return self.add_pred(data_samples, inputs.shape[0], pred_depth=self._forward(inputs))


def _batch(n=3, size=(16, 20)):
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i in range(n):
        s = DepthDataSample(metainfo=dict(img_path=f'img{i}.png', sample_idx=i))
        depth = torch.linspace(1, 5 + i, size[0])[:, None].expand(*size)[None].clone()
        s.gt_depth = PixelData(data=depth)
        s.gt_valid = PixelData(data=torch.rand(1, *size, generator=gen) > 0.1)
        samples.append(s)
    return torch.rand(n, 3, *size, generator=gen), samples


def _soc():
    return dict(type='ScaleOrientedContrast', feature='feat', projector=PROJ)


def test_no_metaclass_and_soc_is_a_named_argument_of_every_depther():
    assert type(BaseDepther) is type(BaseModel)  # mmengine's ABCMeta, nothing of ours
    assert not hasattr(BaseDepther, 'PLUGIN_ARGS')
    for cls in (TR2M, RSA, RelativeDepthBaseline, MetricDepthBaseline):
        param = inspect.signature(cls.__init__).parameters.get('soc')
        assert param is not None and param.default is None, cls.__name__
        assert 'self.attach_soc(soc)' in inspect.getsource(cls.__init__), cls.__name__


def test_attach_soc_builds_binds_and_refuses_a_second_component():
    torch.manual_seed(0)
    model = _ConvDepther(soc=_soc())
    assert isinstance(model.soc, ScaleOrientedContrast)
    assert model.soc._sources == [model.feat]  # bound to the live module it contrasts
    trainable = [k for k, p in model.named_parameters() if p.requires_grad]
    assert any(k.startswith('soc.projector.') for k in trainable)  # the optimizer sees it
    assert not any(k.startswith('soc.momentum_') for k in trainable)  # the EMA copy does not
    with pytest.raises(RuntimeError, match='already has a SOC component'):
        model.attach_soc(_soc())
    plain = _ConvDepther()
    assert plain.soc is None
    assert not any(k.startswith('soc.') for k in plain.state_dict())


def test_loss_step_stacks_gt_once_and_shares_it_with_soc(monkeypatch):
    """``forward(mode='loss')`` with SOC: one ``stack_gt`` call; ``loss`` runs under the
    capture and receives that GT; SOC runs afterwards with the very same tensors."""
    torch.manual_seed(0)
    model = _ConvDepther(soc=_soc()).train()
    inputs, samples = _batch()
    calls, order = [], []
    stack = BaseDepther.stack_gt

    def counting_stack(inputs, data_samples):
        calls.append(1)
        return stack(inputs, data_samples)

    monkeypatch.setattr(model, 'stack_gt', counting_stack)
    soc_forward = model.soc.forward

    def recording_soc(depther, inputs_, samples_, gt, valid):
        order.append('soc')
        assert gt is model.seen_gt[-1].depth and valid is model.seen_gt[-1].valid
        return soc_forward(depther, inputs_, samples_, gt, valid)

    monkeypatch.setattr(model.soc, 'forward', recording_soc)
    losses = model(inputs, samples, mode='loss')
    assert len(calls) == 1 and order == ['soc']
    assert isinstance(model.seen_gt[-1], GroundTruth)
    assert model.capturing_during_loss and not model.soc._capturing
    assert {'loss_l1', 'loss_soc', 'soc_pos_frac'} <= set(losses)
    # the shared GT is the stacked GT of the samples
    depth, valid = stack(inputs, samples)
    assert torch.equal(model.seen_gt[-1].depth, depth) and torch.equal(model.seen_gt[-1].valid,
                                                                       valid)


def test_loss_step_without_soc_leaves_gt_to_the_depther():
    torch.manual_seed(0)
    model = _ConvDepther().train()
    inputs, samples = _batch()
    losses = model(inputs, samples, mode='loss')
    assert model.seen_gt == [None] and set(losses) == {'loss_l1'}
    gt, valid = model.stack_gt(inputs, samples)
    expected = (model._forward(inputs) - gt).abs()[valid].mean()
    torch.testing.assert_close(losses['loss_l1'], expected)


def test_soc_gives_the_same_depth_loss_as_without():
    """SOC adds its terms and changes nothing else of the step."""
    inputs, samples = _batch()
    torch.manual_seed(0)
    with_soc = _ConvDepther(soc=_soc()).train()
    torch.manual_seed(0)
    plain = _ConvDepther().train()
    a = with_soc(inputs, samples, mode='loss')
    b = plain(inputs, samples, mode='loss')
    torch.testing.assert_close(a['loss_l1'], b['loss_l1'])


def test_strict_overrides_know_soc_from_the_signature():
    """``--cfg-options model.soc.momentum=0.99`` on a config that leaves ``soc`` at its
    default: ``soc`` is found in the depther's signature (no plug-in list), a typo is not."""
    from mmengine.config import Config

    from tr2m.utils.config import check_keys_exist
    from tr2m.utils.errors import ConfigError

    cfg = Config(dict(model=dict(type='RSA', relative_depth=None, text_encoder=None)))
    check_keys_exist(cfg, {'model.soc': dict(type='ScaleOrientedContrast')})
    check_keys_exist(cfg, {'model.soc.momentum': 0.99})
    with pytest.raises(ConfigError, match='did you mean model.soc'):
        check_keys_exist(cfg, {'model.scc': None})
