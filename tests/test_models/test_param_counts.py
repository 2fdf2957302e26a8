"""Parameter counts of the paper setting (configs/tr2m_da_s.py) through the count_params tool:
about 19M trainable (paper), Depth Anything Small 24.8M frozen. Built on the meta device
(TR2M_RANDOM_INIT=1), so DINOv2-L + CLIP-L cost no memory and little time."""
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def count_params():
    spec = importlib.util.spec_from_file_location(
        'count_params', REPO / 'tools' / 'analysis_tools' / 'count_params.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paper_setting(count_params, monkeypatch, capsys):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    counts = count_params.main([str(REPO / 'configs' / 'tr2m_da_s.py'), '--json'])
    assert '"trainable"' in capsys.readouterr().out
    mods = counts['modules']
    assert 17e6 <= counts['trainable'] <= 21e6  # paper: 19M
    assert mods['relative_depth']['frozen'] / 1e6 == pytest.approx(24.8, abs=0.05)
    assert mods['image_encoder']['frozen'] / 1e6 == pytest.approx(304.4, abs=0.1)  # DINOv2-L
    assert mods['text_encoder']['frozen'] / 1e6 == pytest.approx(123.7, abs=0.1)  # CLIP-L text
    decoders = mods['scale_head']['trainable'] + mods['shift_head']['trainable']
    assert decoders / 1e6 == pytest.approx(18.9, rel=0.04)  # paper: ~18.9M
    assert mods['soc_projector']['trainable'] / 1e6 == pytest.approx(0.19, abs=0.005)
    # the EMA copies are counted apart, neither trainable nor frozen
    assert counts['momentum'] == mods['neck']['trainable'] + mods['soc_projector']['trainable']
    assert mods['momentum_neck']['trainable'] == mods['momentum_neck']['frozen'] == 0
    assert counts['total'] == counts['trainable'] + counts['frozen'] + counts['momentum']
    for key in ('trainable', 'frozen', 'momentum'):
        assert sum(m[key] for m in mods.values()) == counts[key]


def test_rsa_counts(count_params, monkeypatch):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    counts = count_params.main([str(REPO / 'configs' / 'rsa' / 'rsa_da_s.py')])
    assert counts['modules']['text_encoder']['frozen'] / 1e6 == pytest.approx(63.7, abs=0.1)
    # RSA's released LanScaleModel on RN50's 1024-d text: 1,494,274 (about 1.5M)
    assert counts['trainable'] == counts['modules']['head']['trainable'] == 1_494_274
