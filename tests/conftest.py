"""Shared fixtures. The real RGB-D frames live in ``../shared/data`` beside the repository."""
import json
import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get('TR2M_SHARED_DATA', REPO_ROOT.parent / 'shared' / 'data'))
RGBD_REAL = SHARED_DATA / 'rgbd_real'
RSA_TEXT = SHARED_DATA / 'rsa_text'

# Offline everywhere: a test must never reach a hub, and tests build random weights.
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')


# Tiny models run fastest on one thread, and the suite stays fast when the machine is busy.
torch.set_num_threads(1)


def pytest_configure(config):
    config.addinivalue_line('markers', 'gpu: needs a CUDA device (excluded by .ci/run)')


@pytest.fixture(scope='session')
def rgbd_real() -> Path:
    """Folder of the 59 real RGB-D frames (``manifest.json`` inside)."""
    if not (RGBD_REAL / 'manifest.json').is_file():
        raise FileNotFoundError(f'real test data missing: {RGBD_REAL} (CI must have ../shared)')
    return RGBD_REAL


@pytest.fixture(scope='session')
def rgbd_manifest(rgbd_real) -> list:
    """The frames of ``rgbd_real/manifest.json``."""
    return json.loads((rgbd_real / 'manifest.json').read_text())['frames']


@pytest.fixture(scope='session')
def rsa_text() -> Path:
    """RSA's real caption files and split lists."""
    if not RSA_TEXT.is_dir():
        raise FileNotFoundError(f'real caption data missing: {RSA_TEXT}')
    return RSA_TEXT
