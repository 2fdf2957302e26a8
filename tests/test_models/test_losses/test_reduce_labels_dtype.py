"""``reduce_labels`` under ``torch.set_default_dtype(torch.float64)`` (a float64 analysis
script): its counting buffer does not follow the default float dtype, so it works and gives the
float32 result."""
import pytest
import torch

from tr2m.models.losses import depth_classes, reduce_labels


@pytest.fixture
def float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


# 4 x 4 labels, 2 x 2 cells: top-left {0, 0, 0, 1} -> 0, top-right {2, 2, 3, 3} -> 2 (the tie
# goes to the smaller label), bottom-left all invalid -> -1, bottom-right {1, 1, 1, -1} -> 1
LABELS = [[0, 0, 2, 3],
          [0, 1, 2, 3],
          [-1, -1, 1, 1],
          [-1, -1, 1, -1]]


def test_reduce_labels_under_float64_default(float64_default):
    assert torch.zeros(1).dtype == torch.float64  # the setting is in force
    labels = torch.tensor([LABELS])
    out = reduce_labels(labels, (2, 2), 4)
    assert out.dtype == torch.int64
    assert out.tolist() == [[[0, 2], [-1, 1]]]
    assert reduce_labels(labels, (2, 2), 4, 'nearest').tolist() == [[[0, 2], [-1, 1]]]
    # the whole label path of a float64 script: GT depth -> classes -> feature grid
    gt = torch.linspace(1.0, 9.0, 64).reshape(1, 8, 8)
    valid = torch.ones_like(gt, dtype=torch.bool)
    cls64 = reduce_labels(depth_classes(gt, valid, 4), (2, 2), 5)
    torch.set_default_dtype(torch.float32)
    cls32 = reduce_labels(depth_classes(gt.float(), valid, 4), (2, 2), 5)
    assert torch.equal(cls64, cls32)
