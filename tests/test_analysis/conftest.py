"""Fixtures of the analysis tests: those of ``tests/test_apis/conftest.py``."""
import importlib.util
from pathlib import Path

_HERE = Path(__file__).resolve()
_spec = importlib.util.spec_from_file_location(
    'tr2m_test_analysis_apis_conftest', _HERE.parents[1] / 'test_apis' / 'conftest.py')
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
synthetic_root = _shared.synthetic_root
tiny_config = _shared.tiny_config
