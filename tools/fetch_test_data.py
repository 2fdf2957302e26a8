"""Fetch the real test data (frames and caption files, pinned by sha256) into the cache:
``python tools/fetch_test_data.py [--dest DIR] [--if-missing] [--check]``
(:mod:`tr2m.cli.fetch_test_data`)."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

from tr2m.cli.fetch_test_data import main  # noqa: E402
from tr2m.utils import cli  # noqa: E402

if __name__ == '__main__':
    cli.run(main)
