"""``RelativeDepthBaseline``: relative prediction for evaluation-time alignment."""
import pytest
import torch
from mmengine.structures import PixelData

from tr2m.evaluation import DepthMetric
from tr2m.models.depthers import RelativeDepthBaseline


def test_predict_sets_rel_and_inverse_depth(depth_batch):
    model = RelativeDepthBaseline(
        relative_depth=dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None))
    inputs, samples = depth_batch(gt_size=(60, 72))
    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    for s in preds:
        assert s.pred_rel_depth.shape == s.pred_depth.shape == (60, 72)
        assert 'rel_depth' not in s  # inputs stay inputs: the prediction has its own field
        assert (s.pred_depth.data > 0).all()
    assert not any(p.requires_grad for p in model.parameters())
    with pytest.raises(RuntimeError, match='nothing to train'):
        model(inputs, samples, mode='loss')


@pytest.mark.parametrize('alignment', ['median', 'lsq_inverse', 'global'])
def test_alignment_recovers_planted_affine(alignment, depth_batch):
    """rel = a / gt + b per image (b = 0 for median, which only fits a scale)."""
    model = RelativeDepthBaseline(relative_depth=None)
    inputs, samples = depth_batch()
    for i, s in enumerate(samples):
        gt = s.gt_depth.data.clamp_min(0.5)
        a, b = (3.0 + i, 0.0) if alignment != 'lsq_inverse' else (3.0 + i, 0.2 * i)
        if alignment == 'global':
            a, b = 3.0, 0.1  # one affine for the whole set
        s.rel_depth = PixelData(data=a / gt + b)
    preds = model(inputs, samples, mode='predict')
    metric = DepthMetric(alignment=alignment)
    metric.process(None, preds)
    scores = metric.evaluate(len(preds))
    assert scores['abs_rel'] < 1e-4 and scores['d1'] == pytest.approx(1.0)
