"""tr2m/visualization/layout.py: round colour-bar ticks and their labels."""
from tr2m.visualization import colormaps as cm
from tr2m.visualization import layout as lay


def test_nice_ticks_and_labels():
    assert lay.nice_ticks(1.48, 6.33) == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert lay.nice_ticks(3.1, 72.0) == [20.0, 40.0, 60.0]
    assert lay.nice_ticks(5.3, 72.0, 'log') == [10.0, 20.0, 50.0]
    assert lay.nice_ticks(0.5, 10.0, 'inverse') == [0.5, 1.0, 2.0, 5.0, 10.0]
    assert lay.nice_ticks(1.21, 1.29, 'log') == [1.21, 1.29]  # nothing round inside: the ends
    assert lay.format_value(2.0, 'm', 1.0) == '2 m'
    assert lay.format_value(0.995, 'm', 0.005) == '0.995 m'
    assert lay.format_value(40.0, 'mm', 20.0) == '40 mm'
    assert lay.format_value(3.01e-5, '', 1e-7) == '3.01e-5'  # tiny shift maps stay readable
    assert [lay.format_value(v, 'm', 20.0) for v in (20.0, 40.0)] == ['20 m', '40 m']
    assert lay.format_value(2.5, 'm', 0.5) == '2.5 m' and lay.format_value(0.1, '', 0.02) == '0.1'
    assert lay.format_value(100000.0, 'mm', 20000.0) == '100000 mm'
    assert cm.nice_ceil(0.37) == 0.5 and cm.nice_ceil(2.0) == 2.0
