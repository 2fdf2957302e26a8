"""SOC variants that let the contrast reach what the heads read: the projector (None, linear,
the paper's), mean or summed negatives and the temperature; hand-checked loss values, and the
paper's form unchanged as the default."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from torch import nn

from tr2m.models.contrast import PAPER_PROJECTOR, ScaleOrientedContrast
from tr2m.models.heads import LinearSOCProjector, SOCProjector
from tr2m.models.losses import depth_classes, reduce_labels, soc_loss
from tr2m.registry import MODELS

REPO_CONFIG = str(Path(__file__).resolve().parents[3] / 'configs/_base_/models/tr2m_da_s.py')


class _Toy(nn.Module):
    """A depther stand-in: the contrasted feature is a 1x1 conv of the image."""

    def __init__(self, soc: ScaleOrientedContrast, width: int = 6):
        super().__init__()
        torch.manual_seed(0)
        self.feat = nn.Conv2d(3, width, 1)
        self.soc = soc
        soc.attach(self)

    def step(self, images, gt):
        with self.soc.capture():
            feats = self.feat(images)
        return feats, self.soc(self, images, None, gt, gt > 0)


def _batch(n=3, size=(6, 8), seed=0):
    gen = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 3, *size, generator=gen)
    gt = 1 + 9 * torch.rand(n, 1, *size, generator=gen)
    return images, gt


def _soc(**kwargs):
    return ScaleOrientedContrast(feature='feat', num_classes=4, loss_weight=1.0, **kwargs)


@pytest.mark.parametrize('projector, width, grid', [
    (None, 6, (6, 8)),  # the feature itself
    (dict(type='LinearSOCProjector', out_channels=4), 4, (6, 8)),
    (dict(type='SOCProjector', hidden_channels=8, out_channels=5), 5, (3, 4)),  # pooled
])
def test_projector_variants_shapes_and_queue_width(projector, width, grid):
    model = _Toy(_soc(projector=projector, queue_size=4))
    images, gt = _batch()
    feats, out = model.step(images, gt)
    q = model.soc.projector(feats)
    assert q.shape == (3, width, *grid)
    assert model.soc.embed_channels == width
    assert model.soc.queue_sums.shape == (4, width, 5)
    assert torch.isfinite(out['loss_soc']) and out['soc_pos_frac'] > 0
    if projector is None:
        assert isinstance(model.soc.projector, nn.Identity) and q is feats
        assert sum(p.numel() for p in model.soc.parameters() if p.requires_grad) == 0


def test_projector_none_equals_the_functional_loss_on_the_feature():
    """No projector: eq. 8 on the (L2-normalised) feature, keys = the EMA copy (equal at the
    start), second key set = the batch neighbour; labels eq. 7 then the per-cell mode."""
    for reduction, temperature in (('sum', 1.0), ('mean', 0.5)):
        model = _Toy(_soc(projector=None, negative_reduction=reduction,
                          temperature=temperature))
        images, gt = _batch()
        feats, out = model.step(images, gt)
        cls = reduce_labels(depth_classes(gt[:, 0], gt[:, 0] > 0, 4), (6, 8), 5)
        keys = torch.stack([feats, feats.roll(1, 0)], 1).detach()
        ref = soc_loss(feats, keys, cls, torch.stack([cls, cls.roll(1, 0)], 1),
                       negative_reduction=reduction, temperature=temperature, num_classes=4)
        torch.testing.assert_close(out['loss_soc'], ref)
        # the gradient of loss_soc reaches the feature module directly
        out['loss_soc'].backward()
        assert model.feat.weight.grad.abs().sum() > 0


def test_linear_projector_is_linear_and_counts_its_parameters():
    torch.manual_seed(0)
    proj = LinearSOCProjector(6, 4)
    assert sum(p.numel() for p in proj.parameters()) == 6 * 4  # no bias by default
    assert LinearSOCProjector(6).out_channels == 6
    x, y = torch.randn(2, 6, 3, 5), torch.randn(2, 6, 3, 5)
    torch.testing.assert_close(proj(2 * x - 3 * y), 2 * proj(x) - 3 * proj(y))
    manual = torch.einsum('oc,bchw->bohw', proj.proj.weight[:, :, 0, 0], x)
    torch.testing.assert_close(proj(x), manual)
    with_bias = LinearSOCProjector(6, 4, bias=True)
    assert sum(p.numel() for p in with_bias.parameters()) == 6 * 4 + 4


def _equiangular(c: float, num_classes: int):
    """One query ``e_0`` and one key per class, every key at cosine ``c`` to the query."""
    dim = num_classes + 1
    q = torch.zeros(1, dim, 1, 1, dtype=torch.float64)
    q[0, 0] = 1
    k = torch.zeros(1, 1, dim, 1, num_classes, dtype=torch.float64)
    for j in range(num_classes):
        k[0, 0, 0, 0, j] = c
        k[0, 0, j + 1, 0, j] = math.sqrt(1 - c * c)
    q_cls = torch.zeros(1, 1, 1, dtype=torch.long)
    k_cls = torch.arange(num_classes).view(1, 1, 1, num_classes)
    return q, k, q_cls, k_cls


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_hand_checked_reductions_and_temperature():
    # keys: class 0 along the query (cos 1), class 1 orthogonal (0), class 2 opposite (-1)
    q = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)
    k = torch.tensor([[2.0, 0.0], [0.0, 1.0], [-3.0, 0.0]]).T.reshape(1, 1, 2, 1, 3)
    q_cls = torch.zeros(1, 1, 1, dtype=torch.long)
    k_cls = torch.tensor([0, 1, 2]).view(1, 1, 1, 3)
    # sum: S_p = 1, S_n = 0 + (-1) = -1 -> softplus(-2); mean: S_n = -0.5 -> softplus(-1.5)
    assert soc_loss(q, k, q_cls, k_cls).item() == pytest.approx(softplus(-2.0), rel=1e-6)
    assert soc_loss(q, k, q_cls, k_cls, negative_reduction='mean').item() == pytest.approx(
        softplus(-1.5), rel=1e-6)
    # temperature 0.5 doubles every similarity: softplus(-3)
    assert soc_loss(q, k, q_cls, k_cls, negative_reduction='mean',
                    temperature=0.5).item() == pytest.approx(softplus(-3.0), rel=1e-6)


@pytest.mark.parametrize('num_classes', [3, 8])
def test_the_shortcut_pays_with_summed_negatives_only(num_classes):
    """All cosines equal to ``c``: summed negatives give ``softplus((K - 2) c)``, which falls
    towards 0 as the query turns away from every key (``c -> -1``) without any class
    structure; mean negatives give ``log 2`` whatever ``c``: nothing to gain by turning."""
    for c in (0.5, 0.0, -0.3, -0.9):
        args = _equiangular(c, num_classes)
        summed = soc_loss(*args, negative_reduction='sum').item()
        mean = soc_loss(*args, negative_reduction='mean').item()
        assert summed == pytest.approx(softplus((num_classes - 2) * c), rel=1e-9)
        assert mean == pytest.approx(math.log(2), rel=1e-9)
    away = soc_loss(*_equiangular(-0.9, num_classes)).item()
    aligned = soc_loss(*_equiangular(0.9, num_classes)).item()
    assert away < aligned / 10 if num_classes == 8 else away < aligned


def test_paper_form_is_the_default_and_the_paper_config():
    soc = ScaleOrientedContrast()
    assert soc.projector_cfg == PAPER_PROJECTOR == dict(type='SOCProjector')
    assert (soc.negative_reduction, soc.temperature, soc.momentum) == ('sum', 1.0, 0.999)
    paper = Config.fromfile(REPO_CONFIG).model.soc
    assert paper.projector == dict(type='SOCProjector')
    assert (paper.negative_reduction, paper.temperature) == ('sum', 1.0)
    model = _Toy(MODELS.build(dict(type='ScaleOrientedContrast', feature='feat',
                                   projector=dict(type='SOCProjector', hidden_channels=8,
                                                  out_channels=5))))
    assert isinstance(model.soc.projector, SOCProjector)
    # the default dict is never mutated by a build (in_channels is filled into a copy)
    assert PAPER_PROJECTOR == dict(type='SOCProjector')
