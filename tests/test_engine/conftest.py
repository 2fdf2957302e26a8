"""Fixtures of the engine tests: the tiny synthetic set, config and checkpoint of
``tests/test_apis/conftest.py``, the tools as modules, and short training runs."""
import importlib.util
from pathlib import Path

import pytest
import torch

_HERE = Path(__file__).resolve()
REPO = _HERE.parents[2]

_spec = importlib.util.spec_from_file_location(
    'tr2m_test_engine_apis_conftest', _HERE.parents[1] / 'test_apis' / 'conftest.py')
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
synthetic_root = _shared.synthetic_root
tiny_config = _shared.tiny_config
tiny_checkpoint = _shared.tiny_checkpoint


def load_tool(relpath: str):
    """A tool script as a module (``load_tool('tools/train.py').main([...])``)."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location('tr2m_engine_tool_' + path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def short_run(epochs: int, batch: int = 4, *extra: str) -> list:
    """``--cfg-options`` of a short run without validation, logging every iteration."""
    return [f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1000',
            f'train_dataloader.batch_size={batch}', 'default_hooks.logger.interval=1', *extra]


def weights(path) -> dict:
    """The state dict of a checkpoint (loaded with weights_only=True)."""
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def max_weight_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a
               if a[k].is_floating_point())


@pytest.fixture(scope='session')
def train_tool():
    return load_tool('tools/train.py')
