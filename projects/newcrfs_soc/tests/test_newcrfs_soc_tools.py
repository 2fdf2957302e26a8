"""``tools/soc_step_cost.py``: the three variants build from one config and count what SOC
adds (the projector trains; the momentum branch is the whole network or one CRF stage)."""
import importlib.util
from pathlib import Path

import pytest

import projects.newcrfs.newcrfs  # noqa: F401  (registers NeWCRFs)
from tr2m.registry import MODELS
from tr2m.utils import register_all_modules

register_all_modules()

PROJECT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('newcrfs_soc_step_cost',
                                              PROJECT / 'tools' / 'soc_step_cost.py')
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)
#: SOCProjector(16 -> 160 -> 160) on the toy preset's 16-wide finest CRF stage
PROJECTOR_16 = 16 * 160 + 160 + 160 * 160 + 160


def test_variants_and_their_parameter_counts(capsys):
    out = tool.main([str(PROJECT / 'configs' / 'newcrfs_soc_toy_synthetic.py'), '--shape', '64',
                     '64', '--batch-size', '2', '--iters', '1'])
    plain, full, cheap = out['plain'], out['full'], out['cheap']
    assert plain['ratio'] == 1.0 and plain['momentum_params'] == 0
    assert full['trainable'] == cheap['trainable'] == plain['trainable'] + PROJECTOR_16
    assert full['momentum_params'] == full['trainable']  # every trained module has a copy
    toy = MODELS.build(dict(type='NeWCRFs', arch='toy', pretrained=None))
    crf0 = sum(p.numel() for p in toy.decode_head.crf_blocks[0].parameters())
    assert cheap['momentum_params'] == crf0 + PROJECTOR_16  # one CRF stage only
    assert full['momentum_bytes'] == 4 * full['momentum_params']
    assert all(r['cpu_s'] > 0 and r['input'] == [2, 3, 64, 64] for r in out.values())
    assert 'momentum branch' in capsys.readouterr().out
    with pytest.raises(ValueError, match='soc entry'):
        tool.variant_config(dict(type='NeWCRFs'), 'cheap')
    with pytest.raises(ValueError, match='variant'):
        tool.variant_config(dict(type='NeWCRFs'), 'half')
