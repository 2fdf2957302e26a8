"""tr2m/functional/affine.py: the one inverse-depth floor and the range clamp."""
import torch

from tr2m.functional import (
    MIN_INV_DEPTH,
    affine_inverse_to_depth,
    apply_scale_shift,
    clamp_to_range,
)
from tr2m.models.depthers.base import MIN_INV_DEPTH as DEPTHER_FLOOR
from tr2m.models.depthers.base import affine_inverse_to_depth as depther_map


def test_floor_is_one_constant_and_counts_clamped_pixels():
    assert MIN_INV_DEPTH == DEPTHER_FLOOR == 1e-8 and depther_map is affine_inverse_to_depth
    rel = torch.tensor([1.0, 0.5, -1.0, -0.5])
    depth, clamped = affine_inverse_to_depth(rel, 2.0, 0.0, return_nonpositive=True)
    assert torch.allclose(depth, torch.tensor([0.5, 1.0, 1e8, 1e8]))
    assert int(clamped) == 2
    # the alignments' inverse space is the same map with the same floor
    assert torch.equal(apply_scale_shift(rel, 2.0, 0.0, 'inverse'), depth)
    assert torch.equal(apply_scale_shift(rel, 2.0, 1.0, 'depth'), 2 * rel + 1)


def test_clamp_to_range_as_the_metric_scores():
    pred = torch.tensor([0.0, 1e-7, 5.0, 20.0])
    assert torch.equal(clamp_to_range(pred, 0.5, 10.0), torch.tensor([0.5, 0.5, 5.0, 10.0]))
    # min_depth 0 / None: a positive floor for the logs; no upper bound for None and inf
    for lo, hi in ((0.0, None), (None, float('inf'))):
        assert torch.equal(clamp_to_range(pred, lo, hi), torch.tensor([1e-6, 1e-6, 5.0, 20.0]))
