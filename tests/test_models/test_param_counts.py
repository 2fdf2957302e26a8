"""Parameter counts of the paper setting (configs/tr2m_da_s.py) through the count_params tool:
17-24M trainable (paper: ~19M), Depth Anything Small 24.8M frozen. Built on the meta device
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
    assert 17e6 <= counts['trainable'] <= 24e6  # paper: ~19M
    assert mods['relative_depth']['frozen'] / 1e6 == pytest.approx(24.8, abs=0.05)
    assert mods['image_encoder']['frozen'] / 1e6 == pytest.approx(304.4, abs=0.1)  # DINOv2-L
    assert mods['text_encoder']['frozen'] / 1e6 == pytest.approx(123.7, abs=0.1)  # CLIP-L text
    decoders = mods['scale_head']['trainable'] + mods['shift_head']['trainable']
    assert decoders == 2 * 7_506_945  # width 256: 9 * 1024 * 256 + 78.5 * 256^2 + ...
    # learnt neck: Q, K_I, V_I, O_I (1024 x 1024), V_L (768 -> 1024), O_L, two LayerNorms
    assert mods['neck']['trainable'] == 5 * (1024 * 1024 + 1024) - 1024 + 768 * 1024 + 1024 + \
        2 * 1024 + 2 * 768  # no bias on the keys
    assert mods['soc']['trainable'] == 1024 * 160 + 160 + 160 * 160 + 160  # projector 0.19M
    # the EMA copies (neck + projector) are counted apart, neither trainable nor frozen
    assert counts['momentum'] == mods['neck']['trainable'] + mods['soc']['trainable']
    assert mods['soc']['momentum'] == counts['momentum'] and mods['soc']['frozen'] == 0
    assert counts['total'] == counts['trainable'] + counts['frozen'] + counts['momentum']
    for key in ('trainable', 'frozen', 'momentum'):
        assert sum(m[key] for m in mods.values()) == counts[key]


def test_rsa_counts(count_params, monkeypatch):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    counts = count_params.main([str(REPO / 'configs' / 'rsa' / 'rsa_da_s.py')])
    assert counts['modules']['text_encoder']['frozen'] / 1e6 == pytest.approx(63.7, abs=0.1)
    # RSA's released LanScaleModel on RN50's 1024-d text: 1,494,274 (about 1.5M)
    assert counts['trainable'] == counts['modules']['head']['trainable'] == 1_494_274
