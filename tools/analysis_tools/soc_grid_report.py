"""What SOC did in an ablation grid: AbsRel, feature separability and SOC's gradient share.

``python tools/analysis_tools/soc_grid_report.py GRID_DIR [GRID_DIR ...] [--feature neck]
[--out report.md]``

For every finished run of ``tools/ablate.py`` under the grid folders (``run.json`` with status
``ok`` or ``reused``): AbsRel and delta1 of its test (``metrics.json``), the depth-class
separability of ``--feature`` on the test split (``soc_separability.py``; computed once and
kept as ``separability.json`` in the run folder), and the median over training of
``gratio_soc``, the ratio of SOC's gradient norm to the depth loss's on the parameters they share
(``LossBalanceHook``; ``-`` without SOC). Runs that differ only in ``randomness.seed`` are then
pooled into one row per setting: the per-seed values and their median. The markdown goes to
stdout (and ``--out``). The library: :mod:`tr2m.analysis.soc_report`.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tr2m.analysis.soc_report import collect, report  # noqa: E402


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('grid_dirs', nargs='+', help='ROOT/<grid> folders of tools/ablate.py')
    parser.add_argument('--feature', default='neck', help='dotted submodule name')
    parser.add_argument('--out', help='also write the markdown here')
    args = parser.parse_args(argv)
    from tr2m.utils.errors import ArgumentError

    for d in args.grid_dirs:
        if not osp.isdir(d):
            raise ArgumentError(f'grid folder not found: {d}')
    text = report(collect(args.grid_dirs, args.feature), args.feature)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    return text


if __name__ == '__main__':
    from tr2m.utils import cli

    cli.run(main)
