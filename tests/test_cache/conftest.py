"""Fixtures of the cache tests: the demo set (``tests/test_apis/conftest.py``) and one float16
cache (batch size 1) of the toy cached config, built once for the package."""
import importlib.util
from pathlib import Path

import pytest

from ._helpers import build_cache, write_config

_HERE = Path(__file__).resolve()
_spec = importlib.util.spec_from_file_location(
    'tr2m_test_cache_apis_conftest', _HERE.parents[1] / 'test_apis' / 'conftest.py')
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
synthetic_root = _shared.synthetic_root


@pytest.fixture(scope='package')
def cached(tmp_path_factory, synthetic_root):
    """``(config, root, meta)``: a float16 cache (batch 1) of the toy cached config."""
    tmp = tmp_path_factory.mktemp('cache')
    config = write_config(tmp / 'cfg.py', synthetic_root, tmp / 'root')
    meta = build_cache(config, batch_size=1)
    return config, tmp / 'root', meta
