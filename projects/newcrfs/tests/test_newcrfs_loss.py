"""The released SI-log loss: hand-computed values, batch pooling, the training mask."""
import math

import pytest
import torch

from projects.newcrfs.newcrfs import NeWCRFsSiLogLoss, newcrfs_silog_loss


def batch():
    """Two images of 1 x 3 pixels, GT 1 m except an invalid and a too-near pixel:
    log errors d = [0.1, 0.3 | -0.2, 0.2] on the supervised pixels."""
    pred = torch.tensor([[[[math.exp(0.1), math.exp(0.3), 50.0]]],
                         [[[math.exp(-0.2), math.exp(0.2), 3.0]]]], requires_grad=True)
    gt = torch.tensor([[[[1.0, 1.0, 0.0]]], [[[1.0, 1.0, 0.05]]]])
    valid = gt > 0
    return pred, gt, valid


def test_hand_computed_batch_and_image_reductions():
    pred, gt, valid = batch()
    mask = valid & (gt > 0.1)
    # pooled: mean(d^2) = 0.18 / 4, mean(d) = 0.1 -> 10 * sqrt(0.045 - 0.85 * 0.01)
    expected = 10 * math.sqrt(0.045 - 0.85 * 0.01)
    assert newcrfs_silog_loss(pred, gt, mask).item() == pytest.approx(expected, rel=1e-6)
    # per image: 10 sqrt(0.05 - 0.85 * 0.04) = 1.2649..., 10 sqrt(0.04) = 2 -> mean
    per_image = (10 * math.sqrt(0.05 - 0.85 * 0.04) + 2.0) / 2
    assert newcrfs_silog_loss(pred, gt, mask, reduction='image').item() == pytest.approx(
        per_image, rel=1e-6)
    with pytest.raises(ValueError, match='reduction'):
        newcrfs_silog_loss(pred, gt, mask, reduction='pixel')


def test_released_mask_and_formula():
    pred, gt, valid = batch()
    loss = NeWCRFsSiLogLoss(min_depth=0.1)(pred, gt, valid)  # drops the 0.05 m pixel
    assert loss.item() == pytest.approx(10 * math.sqrt(0.045 - 0.85 * 0.01), rel=1e-6)
    loss.backward()
    assert pred.grad[0, 0, 0, 2] == 0 and pred.grad[1, 0, 0, 2] == 0  # unsupervised pixels
    # the released expression, verbatim in meaning: index the batch with the mask
    gen = torch.Generator().manual_seed(0)
    p = torch.rand(3, 1, 8, 8, generator=gen) * 9 + 0.5
    g = torch.rand(3, 1, 8, 8, generator=gen) * 9 + 0.5
    m = g > 2.0
    d = torch.log(p[m]) - torch.log(g[m])
    released = torch.sqrt((d ** 2).mean() - 0.85 * (d.mean() ** 2)) * 10.0
    torch.testing.assert_close(NeWCRFsSiLogLoss(min_depth=2.0)(p, g, g > 0), released)


def test_invariances_and_no_valid_pixel():
    gen = torch.Generator().manual_seed(1)
    p = torch.rand(2, 1, 4, 4, generator=gen) + 0.5
    g = torch.rand(2, 1, 4, 4, generator=gen) + 0.5
    m = torch.ones_like(g, dtype=torch.bool)
    with_lambda_one = newcrfs_silog_loss(p, g, m, variance_focus=1.0)
    torch.testing.assert_close(newcrfs_silog_loss(3 * p, g, m, variance_focus=1.0),
                               with_lambda_one)  # lambda = 1: invariant to a global scale
    assert newcrfs_silog_loss(3 * p, g, m) > newcrfs_silog_loss(p, g, m)  # 0.85: not invariant
    empty = newcrfs_silog_loss(p.requires_grad_(), g, torch.zeros_like(m))
    assert empty.item() == 0.0
    empty.backward()
    assert torch.equal(p.grad, torch.zeros_like(p))
