"""Fixtures of the dataset tests: one session-wide temporary tree per dataset layout."""
import sys
from pathlib import Path

import pytest

from ._trees import build_trees

CONVERTERS = Path(__file__).resolve().parents[2] / 'tools' / 'dataset_converters'
if str(CONVERTERS) not in sys.path:
    sys.path.insert(0, str(CONVERTERS))  # the scripts import converter_utils as a sibling


@pytest.fixture(scope='session')
def trees(tmp_path_factory, rgbd_real, rgbd_manifest, rsa_text):
    """Every dataset's layout in one temporary folder (see :func:`build_trees`)."""
    return build_trees(tmp_path_factory.mktemp('datasets'), rgbd_real, rgbd_manifest, rsa_text)
