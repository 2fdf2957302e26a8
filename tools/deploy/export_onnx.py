"""Export a TR2M depther to ONNX, checked with onnxruntime:
``python tools/deploy/export_onnx.py (CONFIG CKPT | --model DIR) --out FILE.onnx
[--part full|trainable] [--benchmark N]`` (see ``tr2m/cli/export.py``)."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # a clone

from tr2m.cli.export import main  # noqa: E402
from tr2m.utils import cli  # noqa: E402

if __name__ == '__main__':
    cli.run(main)
