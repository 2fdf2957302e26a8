"""tr2m/analysis/timing.py: medians, interleaving and the run differences, by hand."""
import pytest
import torch

from tr2m.analysis import timing


def test_interleaved_runs_in_turn_and_takes_medians():
    calls = []
    out = timing.interleaved(dict(a=lambda i: calls.append(('a', i)),
                                  b=lambda i: calls.append(('b', i))), repeats=3, warmup=1,
                             device='cpu')
    assert calls == [('a', 0), ('b', 0), ('a', 1), ('b', 1), ('a', 2), ('b', 2), ('a', 3),
                     ('b', 3)]
    assert len(out['a']['wall_ms_all']) == 3 and out['a']['warmup'] == 1
    assert out['a']['wall_ms'] == sorted(out['a']['wall_ms_all'])[1]
    assert timing.with_rate(dict(wall_ms=250.0), 2)['images_per_s'] == 8.0


def test_differences_by_hand():
    a = dict(loss_x=2.0, loss_y=0.0, loss_z=0.0, other=5.0)
    b = dict(loss_x=1.5, loss_y=1.0, loss_z=0.0, other=1.0)
    assert timing.relative_difference(a, b) == dict(loss_x=0.25, loss_y=float('inf'), loss_z=0.0)
    assert timing.absolute_difference(a, b) == dict(loss_x=0.5, loss_y=1.0, loss_z=0.0)
    ref = dict(w=torch.tensor([3.0, 4.0]))
    assert timing.grads_rel_diff(ref, dict(w=torch.tensor([3.0, 4.0]))) == 0
    assert timing.grads_rel_diff(ref, dict(w=torch.tensor([0.0, 4.0]))) == pytest.approx(0.6)
    init = dict(w=torch.zeros(2))
    diff = timing.weights_difference(init, ref, init, dict(w=torch.tensor([3.0, 3.0])))
    assert diff == dict(max_abs_diff=1.0, init_max_abs_diff=0.0, update_rel_diff=0.2)
    assert timing.optional(None) == 'n/a' and timing.optional(0.12345) == '0.123'
