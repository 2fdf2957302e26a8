"""``l1_depth_loss`` / ``L1DepthLoss`` (RSA's loss) against hand-computed values."""
import pytest
import torch

from tr2m.models.losses import L1DepthLoss, l1_depth_loss


def test_l1_relative_and_huber_by_hand():
    pred = torch.tensor([[[2.0, 4.0], [1.0, float('nan')]]])
    gt = torch.tensor([[[1.0, 4.0], [3.0, 0.0]]])
    valid = torch.tensor([[[True, True], [True, False]]])
    assert l1_depth_loss(pred, gt, valid).item() == pytest.approx((1 + 0 + 2) / 3)
    assert l1_depth_loss(pred, gt, valid, relative=True).item() == pytest.approx(
        (1 / 1 + 0 + 2 / 3) / 3)
    # Huber, delta 1.5: |e| = 1 -> 0.5 / 1.5, |e| = 2 -> 2 - 0.75
    assert l1_depth_loss(pred, gt, valid, huber_delta=1.5).item() == pytest.approx(
        (0.5 / 1.5 + 0 + 1.25) / 3)


def test_mean_over_images_with_pixels_and_gradient():
    pred = torch.ones(3, 1, 2, 2, requires_grad=True)
    gt = torch.stack([torch.full((1, 2, 2), v) for v in (2.0, 3.0, 5.0)])
    valid = torch.ones_like(gt, dtype=torch.bool)
    valid[2] = False  # no valid pixel: the image does not count
    loss = L1DepthLoss(loss_weight=2.0)(pred, gt, valid)
    assert loss.item() == pytest.approx(2.0 * (1 + 2) / 2)
    loss.backward()
    assert torch.isfinite(pred.grad).all() and (pred.grad[2] == 0).all()
    none = l1_depth_loss(pred, gt, torch.zeros_like(valid))
    assert none.item() == 0 and none.requires_grad
    with pytest.raises(ValueError):
        L1DepthLoss(huber_delta=0)
