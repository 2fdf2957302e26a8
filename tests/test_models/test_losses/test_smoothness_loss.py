import math

import pytest
import torch

from tr2m.models.losses import EdgeAwareSmoothnessLoss, edge_aware_smoothness


def test_zero_for_constant_maps():
    image = torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    for value in (3.5, 1e-3, 0.0, -2.0):
        x = torch.full((2, 1, 5, 7), value, requires_grad=True)
        loss = edge_aware_smoothness(x, image)
        assert loss.item() == 0.0
        loss.backward()
        assert torch.isfinite(x.grad).all()


def test_hand_computed_2x2():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 2.0]]]])  # mean 2 -> [[0.5, 1], [1.5, 1]]
    r = torch.tensor([[0.0, 0.6], [0.2, 0.2]])
    g = torch.tensor([[0.0, 0.0], [0.4, 1.0]])
    b = torch.tensor([[0.3, 0.0], [0.3, 0.0]])
    image = torch.stack([r, g, b])[None]
    # |dx x'| = [0.5, 0.5]; |dx I| channel means = [(0.6 + 0 + 0.3) / 3, (0 + 0.6 + 0.3) / 3]
    x_term = (0.5 * math.exp(-0.3) + 0.5 * math.exp(-0.3)) / 2
    # |dy x'| = [1, 0]; |dy I| channel means = [(0.2 + 0.4 + 0) / 3, ...]
    y_term = (1.0 * math.exp(-0.2) + 0.0) / 2
    loss = edge_aware_smoothness(x, image)
    assert loss.item() == pytest.approx(x_term + y_term, rel=1e-6)
    assert EdgeAwareSmoothnessLoss()(x, image).item() == pytest.approx(0.01 * (x_term + y_term))


def test_hand_computed_3x3_grey_image():
    x = torch.tensor([[[[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]])  # mean 1
    image = torch.zeros(1, 3, 3, 3)
    image[:, :, :, 2] = 0.5  # a vertical edge between columns 1 and 2
    # dx: rows hold |[0, 0]|, |[9, 9]|, |[0, 0]|; the column-1/2 edge has weight exp(-0.5)
    x_term = (9.0 + 9.0 * math.exp(-0.5)) / 6
    # dy: columns hold |[0, 0]|, |[9, 9]|, |[0, 0]|; no vertical image gradient
    y_term = 18.0 / 6
    assert edge_aware_smoothness(x, image).item() == pytest.approx(x_term + y_term, rel=1e-6)


def test_invariant_to_scale_of_x(real_batch):
    _, _, rgb = real_batch
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(rgb.shape[0], 1, *rgb.shape[-2:], generator=gen).exp()
    base = edge_aware_smoothness(x, rgb)
    assert base.item() > 0
    for scale in (0.01, 7.0, 1e4):
        assert edge_aware_smoothness(scale * x, rgb).item() == pytest.approx(base.item(),
                                                                            rel=1e-5)


def test_edges_lower_the_penalty(load_frame):
    _, _, rgb = load_frame(0)
    rgb = rgb[None]
    flat = torch.full_like(rgb, 0.5)
    x = torch.rand(1, 1, *rgb.shape[-2:], generator=torch.Generator().manual_seed(2)) + 0.5
    assert edge_aware_smoothness(x, rgb) < edge_aware_smoothness(x, flat)


def test_real_frames_finite_gradients_and_degenerate_sizes(real_batch):
    _, _, rgb = real_batch
    scale = torch.rand(rgb.shape[0], 1, *rgb.shape[-2:]).exp().requires_grad_(True)
    loss = EdgeAwareSmoothnessLoss()(scale, rgb)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(scale.grad).all()
    one = torch.ones(1, 1, 1, 1, requires_grad=True)
    assert edge_aware_smoothness(one, torch.zeros(1, 3, 1, 1)).item() == 0.0
    row = torch.tensor([[[[1.0, 3.0]]]])  # single row: only the x term, mean 2 -> |0.5 - 1.5|
    assert edge_aware_smoothness(row, torch.zeros(1, 3, 1, 2)).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match='equal size'):
        edge_aware_smoothness(torch.ones(1, 1, 4, 4), torch.ones(1, 3, 4, 5))


def test_registry_build():
    import tr2m.models  # noqa: F401
    from tr2m.registry import MODELS

    module = MODELS.build(dict(type='EdgeAwareSmoothnessLoss', loss_weight=0.02))
    assert isinstance(module, EdgeAwareSmoothnessLoss) and module.loss_weight == 0.02
