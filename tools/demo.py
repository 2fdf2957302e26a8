"""The web demo: ``python tools/demo.py [--model REPO_ID_OR_DIR] [--port N]`` (Gradio; see
``tr2m/cli/demo.py``)."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

from tr2m.cli.demo import main  # noqa: E402
from tr2m.utils import cli  # noqa: E402

if __name__ == '__main__':
    cli.run(main)
