"""Publish a trained model as a folder (safetensors + config + card), optionally to the Hub:
``python tools/publish.py CONFIG CKPT --out-dir DIR [--metrics R.json ...] [--push OWNER/NAME]``
(see ``tr2m/cli/publish.py``)."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

from tr2m.cli.publish import main  # noqa: E402
from tr2m.utils import cli  # noqa: E402

if __name__ == '__main__':
    cli.run(main)
