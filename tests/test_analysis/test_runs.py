"""tr2m/analysis/runs.py: which checkpoint a run tests, finished entries, JSON copies."""
import json

import pytest

from tr2m.analysis.runs import find_checkpoint, finished_entry, options_dict, to_json


def test_checkpoint_choice(tmp_path):
    assert find_checkpoint(str(tmp_path), 'last') is None
    (tmp_path / 'epoch_1.pth').write_bytes(b'1')
    (tmp_path / 'epoch_2.pth').write_bytes(b'2')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert find_checkpoint(str(tmp_path), 'last') == str(tmp_path / 'epoch_2.pth')
    assert find_checkpoint(str(tmp_path), 'best') == str(tmp_path / 'epoch_2.pth')  # fallback
    (tmp_path / 'best_abs_rel_epoch_1.pth').write_bytes(b'b')
    assert find_checkpoint(str(tmp_path), 'best') == str(tmp_path / 'best_abs_rel_epoch_1.pth')
    with pytest.raises(ValueError, match="'last' or 'best'"):
        find_checkpoint(str(tmp_path), 'first')


def test_finished_entries_and_json(tmp_path):
    record = tmp_path / 'run.json'
    assert finished_entry(str(record), config_hash='a') is None
    record.write_text(json.dumps(dict(status='ok', config_hash='a', test=True)))
    assert finished_entry(str(record), config_hash='a', test=True)['status'] == 'ok'
    assert finished_entry(str(record), config_hash='b') is None
    record.write_text(json.dumps(dict(status='failed', config_hash='a')))
    assert finished_entry(str(record), config_hash='a') is None
    assert to_json({1: (2, None), 'x': {3}}) == {'1': [2, None], 'x': '{3}'}
    assert options_dict(['a=1', 'b.c=x=y']) == {'a': '1', 'b.c': 'x=y'}
