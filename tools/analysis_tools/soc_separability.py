"""How well a model's features separate depth classes (the paper's Figure 5, as a number).

``python tools/analysis_tools/soc_separability.py CONFIG CKPT|none [--feature neck]
[--num-classes 20] [--json]``

Runs the config's test split through the model, takes the output of the submodule
``--feature`` (TR2M: the neck's ``F_out``, which the scale and shift heads read; with SOC also
the projector's output) and labels its cells with the depth classes of eq. 7 (per image range,
classified at the input resolution, then the per-cell mode). The score is ``intra - inter``:
mean cosine similarity of same-class pixel pairs minus that of different-class pairs of one
image (``tr2m.models.losses.class_separability``), averaged over images, overall and per
dataset. Higher: pixels of one depth class look alike and differ from the other classes.
The library: :mod:`tr2m.analysis.soc_report`.
"""
import argparse
import contextlib
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tr2m.analysis.soc_report import config_separability  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none'")
    parser.add_argument('--feature', default='neck', help='dotted submodule name')
    parser.add_argument('--num-classes', type=int, default=20)
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):  # mmengine's loading messages: not the JSON
        out = config_separability(args.config, args.checkpoint, args.feature, args.num_classes)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for ds in sorted(out, key=lambda k: (k != 'all', k)):
            for name, r in out[ds].items():
                print(f"{ds:<22}{name:<16} intra {r['intra']:.4f}  inter {r['inter']:.4f}  "
                      f"score {r['score']:.4f}  ({r['images']} images)")
    return out


if __name__ == '__main__':
    main()
