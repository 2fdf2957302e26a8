"""``DeadMapHook``: one warning per map and run, after ``patience`` dead iterations in a row;
none for a healthy map or a dead streak that breaks."""
import pytest
import torch

from tr2m.engine.hooks import DeadMapHook, dead_map_hook


def feed(hook, values, key='shift_dead_frac'):
    for v in values:
        hook.after_train_iter(None, 0, outputs={'loss_silog': torch.tensor(0.3),
                                                key: torch.tensor(v), 'scale_dead_frac':
                                                torch.tensor(0.0)})


@pytest.fixture
def logged(monkeypatch):
    """The hook's warnings, caught where it calls print_log (the mmengine logger's handlers
    depend on what ran before in the session)."""
    out = []
    monkeypatch.setattr(dead_map_hook, 'print_log',
                        lambda msg, logger=None, level=None: out.append((level, msg)))
    return out


def test_fires_once_on_a_dead_map(logged):
    hook = DeadMapHook(patience=3)
    feed(hook, [1.0] * 10)
    assert [level for level, _ in logged] == [30]  # logging.WARNING
    msgs = [msg for _, msg in logged]
    assert len(msgs) == 1  # one warning per run, not one per iteration
    assert 'the shift map is dead: 100.0%' in msgs[0] and 'shift_dead_frac' in msgs[0]
    assert "'signed'" in msgs[0] and 'relative' in msgs[0]
    assert hook.warned == {'shift_dead_frac': 1.0}


def test_silent_on_a_healthy_map_and_a_broken_streak(logged):
    hook = DeadMapHook(patience=3)
    feed(hook, [0.0, 0.2, 0.5, 0.98] * 5)  # never 0.99
    feed(hook, [1.0, 1.0, 0.0, 1.0, 1.0, 0.3])  # dead, but never 3 in a row
    assert logged == []
    assert hook.warned == {}
    hook.before_train(None)
    feed(hook, [0.995] * 3)
    assert hook.warned == {'shift_dead_frac': pytest.approx(0.995)}


def test_the_floor_has_its_own_message(logged):
    hook = DeadMapHook(patience=2)
    feed(hook, [1.0, 1.0], key='denom_dead_frac')
    assert len(logged) == 1 and 'denominator A * Dr + B is below the floor' in logged[0][1]
    assert '100.0% of the pixels (denom_dead_frac)' in logged[0][1]


def test_arguments_are_checked():
    with pytest.raises(ValueError, match='threshold must be in'):
        DeadMapHook(threshold=0)
    with pytest.raises(ValueError, match='patience >= 1'):
        DeadMapHook(patience=0)
