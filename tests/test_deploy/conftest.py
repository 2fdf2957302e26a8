"""Fixtures of the deploy tests: those of ``tests/test_tools/conftest.py`` (the toy configs,
checkpoints and ``load_tool``)."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    'tr2m_test_tools_conftest_deploy', Path(__file__).resolve().parents[1] / 'test_tools'
    / 'conftest.py')
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
synthetic_root = _shared.synthetic_root
tiny_config = _shared.tiny_config
infer_config = _shared.infer_config
infer_checkpoint = _shared.infer_checkpoint
tiny_checkpoint = _shared.tiny_checkpoint
load_tool = _shared.load_tool
