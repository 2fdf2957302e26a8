"""``huber_depth_loss`` / ``HuberDepthLoss`` (RSA's released loss) against hand-computed values
and ``torch.nn.HuberLoss``."""
import pytest
import torch

from tr2m.models.losses import HuberDepthLoss, huber_depth_loss


def _case():
    # two 2x2 images; errors (pred - gt): image 0: 0.5, -2, 0, [invalid]; image 1: 3, [3 x invalid]
    pred = torch.tensor([[[[1.5, 2.0], [4.0, float('nan')]]], [[[6.0, 1.0], [1.0, 1.0]]]])
    gt = torch.tensor([[[[1.0, 4.0], [4.0, 0.0]]], [[[3.0, 0.0], [0.0, float('inf')]]]])
    valid = torch.tensor([[[[True, True], [True, False]]], [[[True, False], [False, False]]]])
    return pred, gt, valid


def test_released_reduction_by_hand():
    pred, gt, valid = _case()
    # delta 1: |e| = 0.5 -> 0.5 * 0.25 = 0.125; |e| = 2 -> 1 * (2 - 0.5) = 1.5; 0 -> 0
    # image 0: (0.125 + 1.5 + 0) / 4 pixels; image 1: |e| = 3 -> 2.5, / 4 pixels; summed
    want = (0.125 + 1.5) / 4 + 2.5 / 4
    assert huber_depth_loss(pred, gt, valid).item() == pytest.approx(want)
    # delta 2.5: 0.5 -> 0.125; 2 -> 0.5 * 4 = 2; 3 -> 2.5 * (3 - 1.25) = 4.375
    assert huber_depth_loss(pred, gt, valid, delta=2.5).item() == pytest.approx(
        (0.125 + 2.0) / 4 + 4.375 / 4)
    # 'mean': mean over each image's valid pixels, then over images
    assert huber_depth_loss(pred, gt, valid, reduction='mean').item() == pytest.approx(
        ((0.125 + 1.5) / 3 + 2.5 / 1) / 2)


def test_equals_rsa_formula_with_torch_huber():
    """RSA's loss.py: torch's HuberLoss per pixel, zeroed outside the mask, per-image mean over
    valid pixels times the valid fraction, summed over the batch."""
    torch.manual_seed(0)
    pred = torch.rand(3, 1, 5, 7) * 8
    gt = torch.rand(3, 1, 5, 7) * 10
    valid = (gt > 0.2) & (gt < 9.0)
    diff = torch.nn.HuberLoss(reduction='none', delta=1.0)(pred, gt)
    diff = torch.where(valid, diff, torch.zeros_like(diff)).flatten(1)
    n = valid.flatten(1).sum(-1) + 1e-6
    ref = (diff.sum(-1) / n * (n / diff.shape[1])).sum()
    assert torch.allclose(huber_depth_loss(pred, gt, valid), ref, rtol=1e-6)
    assert torch.allclose(HuberDepthLoss()(pred, gt, valid), ref, rtol=1e-6)


def test_gradient_finite_and_zero_outside_the_mask():
    pred, gt, valid = _case()
    pred = pred.clone().requires_grad_(True)
    HuberDepthLoss(loss_weight=2.0)(pred, gt, valid).backward()
    assert torch.isfinite(pred.grad).all()
    assert (pred.grad[~valid] == 0).all()
    # d/dpred: clamp(e, -delta, delta) / pixels, times the weight
    assert pred.grad[0, 0, 0, 0].item() == pytest.approx(2.0 * 0.5 / 4)
    assert pred.grad[0, 0, 0, 1].item() == pytest.approx(2.0 * -1.0 / 4)
    none = huber_depth_loss(pred, gt, torch.zeros_like(valid), reduction='mean')
    assert none.item() == 0 and none.requires_grad


def test_bad_arguments():
    with pytest.raises(ValueError, match='delta'):
        HuberDepthLoss(delta=0)
    with pytest.raises(ValueError, match='reduction'):
        HuberDepthLoss(reduction='sum')
    pred, gt, valid = _case()
    with pytest.raises(ValueError, match='reduction'):
        huber_depth_loss(pred, gt, valid, reduction='median')
