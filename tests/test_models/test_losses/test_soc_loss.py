import math

import pytest
import torch
import torch.nn.functional as F

from tr2m.models.losses import (
    depth_classes,
    downsample_depth,
    soc_loss,
    soc_pos_frac,
)


def _naive_soc(q, k, q_cls, k_cls, negative_reduction='sum', temperature=1.0):
    """Pairwise reference: full N x N cosine matrix per image, explicit loops over queries."""
    losses, with_pos, valid_queries = [], 0, 0
    batch, dim = q.shape[:2]
    for b in range(batch):
        qb = q[b].double().reshape(dim, -1).T  # (Nq, D)
        kb = k[b].double().permute(0, 2, 3, 1).reshape(-1, dim)  # (K*h*w, D)
        sim = (qb @ kb.T) / (qb.norm(dim=1)[:, None] * kb.norm(dim=1)[None, :])
        yq, yk = q_cls[b].reshape(-1).tolist(), k_cls[b].reshape(-1)
        present = sorted(set(yk[yk >= 0].tolist()))
        for i, y in enumerate(yq):
            if y < 0:
                continue
            valid_queries += 1
            if y not in present:
                continue
            with_pos += 1
            s_p = sim[i, yk == y].mean() / temperature
            negs = [sim[i, yk == c].mean() / temperature for c in present if c != y]
            s_n = sum(negs) if negs else torch.tensor(0.0, dtype=torch.float64)
            if negative_reduction == 'mean' and negs:
                s_n = s_n / len(negs)
            losses.append(-torch.log(torch.exp(s_p) / (torch.exp(s_p) + torch.exp(s_n))))
    loss = torch.stack(losses).mean().item() if losses else 0.0
    return loss, with_pos / max(valid_queries, 1)


def _random_case(seed, batch=3, num_k=2, dim=8, size=(5, 6)):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, dim, *size, generator=gen)
    k = torch.randn(batch, num_k, dim, *size, generator=gen)
    # labels in -1..6; keys never use 3 or 6 (queries of those classes have no positive),
    # label 5 occurs nowhere (a class with no members)
    q_cls = torch.randint(-1, 7, (batch, *size), generator=gen)
    q_cls[q_cls == 5] = 0
    k_choices = torch.tensor([-1, 0, 1, 2, 4])
    k_cls = k_choices[torch.randint(0, 5, (batch, num_k, *size), generator=gen)]
    k_cls[1] = torch.where(k_cls[1] >= 0, 2, -1)  # image 1: one key class -> no negatives
    return q, k, q_cls, k_cls


@pytest.mark.parametrize('negative_reduction', ['sum', 'mean'])
@pytest.mark.parametrize('temperature', [1.0, 0.3])
def test_matches_pairwise_reference_random(negative_reduction, temperature):
    q, k, q_cls, k_cls = _random_case(0)
    expected, expected_frac = _naive_soc(q, k, q_cls, k_cls, negative_reduction, temperature)
    loss = soc_loss(q, k, q_cls, k_cls, negative_reduction, temperature)
    assert loss.item() == pytest.approx(expected, abs=1e-5)
    assert 0 < expected_frac < 1
    assert soc_pos_frac(q_cls, k_cls).item() == pytest.approx(expected_frac)
    # an explicit num_classes (labels 0..6) gives the same result without a device sync
    assert soc_loss(q, k, q_cls, k_cls, negative_reduction, temperature,
                    num_classes=6).item() == pytest.approx(expected, abs=1e-5)


def _real_features(depth, valid, size, dim, seed, noise):
    """Features that encode log depth (periodic embedding) plus noise, at feature size."""
    small, small_valid = downsample_depth(depth, valid, size)
    gen = torch.Generator().manual_seed(seed)
    freqs = torch.linspace(0.5, 4.0, dim // 2).view(1, -1, 1, 1)
    logd = torch.where(small_valid, small.clamp_min(1e-3).log(), torch.zeros_like(small))
    feats = torch.cat([torch.sin(freqs * logd), torch.cos(freqs * logd)], 1)
    return feats + noise * torch.randn(feats.shape, generator=gen), small, small_valid


@pytest.mark.parametrize('negative_reduction', ['sum', 'mean'])
def test_matches_pairwise_reference_real(real_batch, negative_reduction):
    depth, valid, _ = real_batch
    depth, valid = depth[:4], valid[:4]  # NYU + KITTI frames
    q, small, small_valid = _real_features(depth, valid, (11, 20), 16, seed=1, noise=0.3)
    k_same, _, _ = _real_features(depth, valid, (11, 20), 16, seed=2, noise=0.3)
    k = torch.stack([k_same, torch.roll(k_same, 1, 0)], 1)  # (B, 2, D, h, w) as in MoCo
    cls = depth_classes(small[:, 0], small_valid[:, 0], num_classes=20)
    k_cls = torch.stack([cls, torch.roll(cls, 1, 0)], 1)
    q_cls = cls.clone()
    q_cls[0, :3] = -1
    assert (cls == -1).any()  # KITTI cells without LiDAR points
    for temperature in (1.0, 0.5):
        expected, frac = _naive_soc(q, k, q_cls, k_cls, negative_reduction, temperature)
        loss = soc_loss(q, k, q_cls, k_cls, negative_reduction, temperature)
        assert loss.item() == pytest.approx(expected, abs=1e-5)
        assert soc_pos_frac(q_cls, k_cls).item() == pytest.approx(frac)


def test_clustered_features_beat_shuffled(real_batch):
    depth, valid, _ = real_batch
    _, small, small_valid = _real_features(depth, valid, (22, 40), 16, seed=3, noise=0.0)
    cls = depth_classes(small[:, 0], small_valid[:, 0])
    gen = torch.Generator().manual_seed(4)
    centres = F.normalize(torch.randn(21, 32, generator=gen), dim=1)
    feats = centres[cls.clamp_min(0)].permute(0, 3, 1, 2)  # (B, D, h, w), one centre per class
    feats = feats + 0.3 * torch.randn(feats.shape, generator=gen)
    perm = torch.randperm(feats.shape[-2] * feats.shape[-1], generator=gen)
    shuffled = feats.flatten(2)[..., perm].reshape(feats.shape)
    keys = torch.stack([feats, torch.roll(feats, 1, 0)], 1)
    k_cls = torch.stack([cls, torch.roll(cls, 1, 0)], 1)
    clustered = soc_loss(feats, keys, cls, k_cls)
    mixed = soc_loss(shuffled, torch.stack([shuffled, torch.roll(shuffled, 1, 0)], 1), cls,
                     k_cls)
    assert clustered.item() < mixed.item() - 0.5


def test_no_positive_is_connected_zero():
    q = torch.randn(2, 4, 3, 3, requires_grad=True)
    k = torch.randn(2, 1, 4, 3, 3)
    q_cls = torch.full((2, 3, 3), 1)
    q_cls[1] = -1
    k_cls = torch.full((2, 1, 3, 3), 2)
    loss = soc_loss(q, k, q_cls, k_cls)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(q.grad, torch.zeros_like(q))
    assert soc_pos_frac(q_cls, k_cls).item() == 0.0
    all_invalid = torch.full_like(q_cls, -1)
    assert soc_pos_frac(all_invalid, k_cls).item() == 0.0
    assert soc_loss(q, k, all_invalid, torch.full_like(k_cls, -1)).item() == 0.0


def test_single_class_hand_case():
    # one key class only: S_n = 0, S_p = cos = 1 -> loss = softplus(-1)
    q = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)
    k = torch.tensor([3.0, 0.0]).view(1, 1, 2, 1, 1)
    cls = torch.zeros(1, 1, 1, dtype=torch.long)
    loss = soc_loss(q, k, cls, cls[:, None])
    assert loss.item() == pytest.approx(math.log1p(math.exp(-1.0)), rel=1e-6)
    # two key pixels of class 0 and 1 at 90 degrees: S_p = 1, S_n = 0 / T
    k2 = torch.tensor([[1.0, 0.0], [0.0, 2.0]]).T.reshape(1, 1, 2, 1, 2)
    k2_cls = torch.tensor([0, 1]).view(1, 1, 1, 2)
    loss2 = soc_loss(q, k2, cls, k2_cls, temperature=0.5)
    assert loss2.item() == pytest.approx(math.log1p(math.exp(-2.0)), rel=1e-6)


def test_bad_arguments_raise():
    q, k, q_cls, k_cls = _random_case(5)
    with pytest.raises(ValueError, match='negative_reduction'):
        soc_loss(q, k, q_cls, k_cls, negative_reduction='max')
    with pytest.raises(ValueError, match='expected q'):
        soc_loss(q, k[:, 0], q_cls, k_cls)


def test_depth_classes_hand_case():
    depth = torch.tensor([[[1.0, 2.0, 3.0], [5.0, 4.5, 9.0]],
                          [[2.0, 2.0, 2.0], [2.0, 0.0, 2.0]],
                          [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])
    valid = torch.tensor([[[True, True, True], [True, True, False]],
                          [[True, True, True], [True, False, True]],
                          [[False] * 3, [False] * 3]])
    # image 0: d_min 1, d_max 5, C = 4 -> Y = round(5 - D) = [4, 3, 2, 0, round(0.5) = 0]
    cls = depth_classes(depth, valid, num_classes=4)
    assert cls.dtype == torch.long
    assert torch.equal(cls[0], torch.tensor([[4, 3, 2], [0, 0, -1]]))
    assert torch.equal(cls[1], torch.tensor([[0, 0, 0], [0, -1, 0]]))  # constant depth
    assert torch.equal(cls[2], torch.full((2, 3), -1))  # no valid pixel
    full = depth_classes(depth[0], torch.ones(2, 3, dtype=torch.bool), num_classes=20)
    assert full.min() == 0 and full.max() == 20  # 9 m is the farthest, 1 m the nearest
    assert torch.equal(full, torch.round((9 - depth[0]) / 8 * 20).long())


def test_downsample_depth_averages_valid_pixels():
    depth = torch.arange(16.0).view(1, 4, 4)
    valid = torch.ones(1, 4, 4, dtype=torch.bool)
    valid[0, 0, 0] = False
    valid[0, 2:, 2:] = False  # a cell with no valid pixel
    depth[0, 0, 0] = float('nan')
    small, small_valid = downsample_depth(depth, valid, (2, 2))
    assert torch.equal(small_valid, torch.tensor([[[True, True], [True, False]]]))
    expected = torch.tensor([[[(1 + 4 + 5) / 3, (2 + 3 + 6 + 7) / 4], [(8 + 9 + 12 + 13) / 4, 0]]])
    assert torch.allclose(small, expected)


def test_downsample_depth_non_divisible_matches_cell_loop(load_frame, kitti_indices):
    depth, valid, _ = load_frame(kitti_indices[1])
    depth, valid = depth[None, None], valid[None, None]
    size = (13, 29)
    small, small_valid = downsample_depth(depth, valid, size)
    assert small.shape == (1, 1, *size)
    height, width = depth.shape[-2:]
    for i in range(size[0]):
        for j in range(size[1]):  # adaptive pooling cells
            r0, r1 = (i * height) // size[0], -((-(i + 1) * height) // size[0])
            c0, c1 = (j * width) // size[1], -((-(j + 1) * width) // size[1])
            m = valid[0, 0, r0:r1, c0:c1]
            assert small_valid[0, 0, i, j].item() == bool(m.any())
            if m.any():
                ref = depth[0, 0, r0:r1, c0:c1][m].double().mean().item()
                assert small[0, 0, i, j].item() == pytest.approx(ref, rel=1e-5)


def test_sparse_kitti_and_empty_frame_finite_gradients(load_frame, kitti_indices):
    frames = [load_frame(i) for i in kitti_indices]
    depth = torch.stack([f[0] for f in frames] + [torch.zeros_like(frames[0][0])])[:, None]
    valid = torch.stack([f[1] for f in frames] + [torch.zeros_like(frames[0][1])])[:, None]
    small, small_valid = downsample_depth(depth, valid, (12, 44))
    cls = depth_classes(small[:, 0], small_valid[:, 0])
    assert (cls[-1] == -1).all()
    gen = torch.Generator().manual_seed(6)
    q = torch.randn(depth.shape[0], 32, 12, 44, generator=gen, requires_grad=True)
    k = torch.randn(depth.shape[0], 2, 32, 12, 44, generator=gen)
    k_cls = torch.stack([cls, torch.roll(cls, 1, 0)], 1)
    loss, pos_frac = soc_loss(q, k, cls, k_cls), soc_pos_frac(cls, k_cls)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    assert torch.isfinite(q.grad).all()
    assert (q.grad[-1] == 0).all()
    assert pos_frac.item() == 1.0
    empty_loss = soc_loss(q[-1:], k[-1:], cls[-1:], k_cls[-1:])
    empty_frac = soc_pos_frac(cls[-1:], k_cls[-1:])
    assert empty_loss.item() == 0.0 and empty_frac.item() == 0.0


def test_label_shapes_and_temperature_checked():
    q, k, q_cls, k_cls = _random_case(7)
    with pytest.raises(ValueError, match='q_cls'):
        soc_loss(q, k, q_cls[:, 1:], k_cls)
    with pytest.raises(ValueError, match='q_cls'):
        soc_loss(q, k, q_cls, k_cls[:, 0])
    with pytest.raises(ValueError, match='temperature'):
        soc_loss(q, k, q_cls, k_cls, temperature=0.0)
