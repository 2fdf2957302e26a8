"""Flip test-time augmentation: the merge rules by hand, mirrored samples, and
``DepthTTAModel`` around a depther that is not mirror-symmetric."""
import pytest
import torch
from mmengine.structures import PixelData

from tr2m.models.depthers.base import BaseDepther
from tr2m.models.tta import DepthTTAModel, flip_batch, flip_sample, merge_flip, wrap_flip_tta
from tr2m.structures import DepthDataSample, DepthProtocol, RunNotes


def test_merge_rules_by_hand():
    a = torch.arange(20.0).reshape(1, 20)  # the prediction
    b = torch.full((1, 20), 100.0)  # the mirrored-back prediction of the mirrored image
    torch.testing.assert_close(merge_flip(a, b, 'mean'), 0.5 * (a + b))
    out = merge_flip(a, b, 'border_blend')
    # x = i / 19; left weight 1 - clip(20 (x - 0.05), 0, 1): 1 for x <= 0.05 (i = 0),
    # 0 from x >= 0.10 (i >= 2); mirrored on the right (i = 19 original only)
    assert out[0, 0] == 100.0  # left edge: the mirrored pass only
    assert out[0, 19] == 19.0  # right edge: the original only
    torch.testing.assert_close(out[0, 2:18], 0.5 * (a[0, 2:18] + 100.0))
    x = 1 / 19
    w = 1 - min(max(20 * (x - 0.05), 0), 1)  # i = 1 lies on the ramp
    torch.testing.assert_close(out[0, 1], torch.tensor(w * 100.0 + (1 - w) * 0.5 * 101.0))
    with pytest.raises(ValueError, match='unknown flip merge'):
        merge_flip(a, b, 'max')


def test_flip_sample_and_batch():
    s = DepthDataSample(metainfo=dict(intrinsics=[100.0, 100.0, 10.0, 5.0], img_path='x'))
    s.gt_depth = PixelData(data=torch.arange(6.0).reshape(1, 2, 3))
    s.caption = 'a room'
    f = flip_sample(s, width=32)
    torch.testing.assert_close(f.gt_depth.data, s.gt_depth.data.flip(-1))
    assert f.metainfo['flip'] is True and f.metainfo['intrinsics'] == [100.0, 100.0, 21.0, 5.0]
    assert f.caption == 'a room' and 'flip' not in s.metainfo  # the original is untouched
    batch = flip_batch(dict(inputs=[torch.arange(6).reshape(1, 2, 3).expand(3, 2, 3)],
                            data_samples=[s]))
    torch.testing.assert_close(batch['inputs'][0][0], torch.tensor([[2, 1, 0], [5, 4, 3]]))


class Ramp(BaseDepther):
    """Predicts ``1 + mean(image) + x`` (x the column index / W): not mirror-symmetric."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))

    def _forward(self, inputs, data_samples=None):
        b, _, h, w = inputs.shape
        xs = torch.arange(w, dtype=torch.float32) / w
        return self.w * (1 + inputs.mean((1, 2, 3))[:, None, None, None] + xs.expand(b, 1, h, w))

    def predict(self, inputs, data_samples=None):
        depth = self._forward(inputs)
        return self.add_pred(data_samples, inputs.shape[0], pred_depth=depth,
                             pred_scale=depth * 2)

    def loss(self, inputs, data_samples):
        return {}


def test_tta_model_averages_the_mirrored_prediction():
    torch.manual_seed(0)
    model = Ramp()
    img = (torch.rand(3, 4, 8) * 255).to(torch.uint8)
    protocol = DepthProtocol(max_depth=10.0)
    samples = [DepthDataSample(metainfo=dict(ori_shape=(4, 8), protocol=protocol))]
    plain = model.test_step(dict(inputs=[img], data_samples=[s.clone() for s in samples]))[0]
    tta = DepthTTAModel(model)
    out = tta.test_step(dict(inputs=[img], data_samples=[s.clone() for s in samples]))[0]
    xs = torch.arange(8.0) / 8
    mean = img.float().mean() / 255
    # plain: 1 + m + x; mirrored then flipped back: 1 + m + (7/8 - x)
    expected = 0.5 * ((1 + mean + xs) + (1 + mean + xs.flip(0)))
    torch.testing.assert_close(out.pred_depth.data[0, 0], expected)
    torch.testing.assert_close(out.pred_scale.data[0], 2 * out.pred_depth.data[0])
    assert not torch.allclose(out.pred_depth.data, plain.pred_depth.data)
    # the protocol is untouched; the run notes record the augmentation
    assert out.metainfo['protocol'] == protocol
    assert out.metainfo['run_notes'] == RunNotes(tta='flip', tta_merge='mean')
    assert 'flip' not in out.metainfo  # the un-flipped sample is returned
    # a state dict loads into the wrapper as into the model (mmengine unwraps BaseTTAModel)
    from mmengine.runner.checkpoint import load_state_dict

    load_state_dict(tta, {'w': torch.tensor(2.0)}, strict=True)
    assert float(model.w.detach()) == 2.0
    wrapped = wrap_flip_tta(model, 'border_blend')
    assert wrapped.merge == 'border_blend' and wrapped.module is model
    with pytest.raises(ValueError, match='unknown flip merge'):
        DepthTTAModel(model, merge='median')
