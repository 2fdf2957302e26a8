"""tr2m/analysis/soc_reference.py: the pairwise SOC reference equals ``soc_loss``."""
import pytest
import torch

from tr2m.analysis.soc_reference import soc_inputs, soc_loss_pairwise
from tr2m.models.losses import soc_loss


@pytest.mark.parametrize('reduction,temperature', [('sum', 1.0), ('mean', 0.5)])
def test_pairwise_reference_equals_soc_loss(reduction, temperature):
    q, k, q_cls, k_cls = soc_inputs(2, (5, 6), keys=2, dim=8, classes=4)
    fast = soc_loss(q, k, q_cls, k_cls, reduction, temperature, num_classes=4)
    ref = soc_loss_pairwise(q, k, q_cls, k_cls, 4, reduction, temperature)
    torch.testing.assert_close(fast, ref, atol=1e-6, rtol=1e-6)
    g_fast, = torch.autograd.grad(fast, q)
    g_ref, = torch.autograd.grad(ref, q)
    torch.testing.assert_close(g_fast, g_ref, atol=1e-6, rtol=1e-5)


def test_inputs_have_holes_and_all_classes():
    q, k, q_cls, k_cls = soc_inputs(2, (16, 4), keys=3, dim=5, classes=4)
    assert q.shape == (2, 5, 16, 4) and k.shape == (2, 3, 5, 16, 4) and q.requires_grad
    assert k_cls.shape == (2, 3, 16, 4)
    assert set(q_cls.unique().tolist()) <= {-1, 0, 1, 2, 3, 4} and (q_cls == -1).any()
