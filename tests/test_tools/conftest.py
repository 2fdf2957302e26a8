"""Fixtures of the tool tests: those of ``tests/test_apis/conftest.py``, plus ``load_tool``."""
import importlib.util
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve()
REPO = _HERE.parents[2]

_spec = importlib.util.spec_from_file_location(
    'tr2m_test_apis_conftest', _HERE.parents[1] / 'test_apis' / 'conftest.py')
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
synthetic_root = _shared.synthetic_root
tiny_config = _shared.tiny_config
infer_config = _shared.infer_config
infer_checkpoint = _shared.infer_checkpoint
tiny_checkpoint = _shared.tiny_checkpoint
perturbed_checkpoint = _shared.perturbed_checkpoint
QUICKSTART = _shared.QUICKSTART


def _load(relpath: str):
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location('tr2m_tool_' + path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def load_tool():
    """``load_tool('tools/infer.py')`` -> the tool's module (tools are scripts, not a package)."""
    return _load
