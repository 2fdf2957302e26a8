"""tr2m/analysis/variant_speed.py and tools/analysis_tools/compare_speed.py on tiny configs."""
import json

import pytest

from tr2m.analysis.variant_speed import compare_speed, format_speed


@pytest.fixture(scope='module')
def shared_config(tiny_config, tmp_path_factory):
    path = tmp_path_factory.mktemp('shared') / 'tiny_shared.py'
    path.write_text(f"""_base_ = [{str(tiny_config)!r}]
model = dict(image_encoder=None, image_tokens='relative_depth', token_channels=16,
             relative_depth=dict(_delete_=True, type='TransformersRelativeDepth', arch='da_tiny',
                                 pretrained=None))
""")
    return path


def test_compare_two_configs(tiny_config, shared_config, monkeypatch):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    r = compare_speed([str(tiny_config), str(shared_config)], infer_shape=(56, 56),
                      train_shape=(56, 56), batch_size=2, rounds=2, warmup=0, threads=1)
    names = ['tiny_tr2m', 'tiny_shared']
    assert list(r['infer']) == ['relative'] + names and list(r['train']) == names
    for n in names:
        assert r['infer_vs_relative_cpu'][n] == pytest.approx(
            r['infer'][n]['cpu_ms'] / r['infer']['relative']['cpu_ms'])
        assert len(r['train'][n]['cpu_ms_all']) == 2
    assert r['train_vs_first_cpu']['tiny_tr2m'] == 1.0
    assert r['params']['tiny_shared'] < r['params']['tiny_tr2m']  # no second ViT
    assert r['trainable']['tiny_shared'] > 0
    text = format_speed(r)
    assert 'the relative model (CPU)' in text and 'faster than the first' in text
    json.dumps(r)


def test_tool_refuses_a_missing_config(capsys, tmp_path):
    import importlib.util
    from pathlib import Path

    from tr2m.utils import cli

    path = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'compare_speed.py'
    spec = importlib.util.spec_from_file_location('tr2m_tool_compare_speed', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    with pytest.raises(SystemExit) as err:
        cli.run(tool.main, [str(tmp_path / 'nope.py'), '--sections', 'infer'])
    assert err.value.code == 2 and 'nope.py' in capsys.readouterr().err
