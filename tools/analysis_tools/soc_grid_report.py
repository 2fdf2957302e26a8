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
stdout (and ``--out``).
"""
import argparse
import contextlib
import glob
import json
import os.path as osp
import re
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

SEED = re.compile(r'(^|__)seed=(\d+)')


def median_scalar(run_dir: str, key: str):
    """Median of ``key`` over the newest training log's ``vis_data/scalars.json``."""
    logs = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json')))
    values = []
    for path in logs[-1:]:
        with open(path) as f:
            values = [r[key] for r in map(json.loads, f) if key in r]
    return statistics.median(values) if values else None


def run_separability(run_dir: str, checkpoint: str, feature: str) -> dict:
    path = osp.join(run_dir, 'separability.json')
    if osp.exists(path):
        with open(path) as f:
            text = f.read()
        if text.strip().startswith('{'):
            return json.loads(text)
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        'tr2m_tool_soc_separability', osp.join(osp.dirname(osp.abspath(__file__)),
                                               'soc_separability.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with contextlib.redirect_stdout(sys.stderr):  # the tool prints its own table
        out = tool.main([osp.join(run_dir, 'config.py'), checkpoint, '--json',
                         "--feature", feature])
    with open(path, 'w') as f:
        json.dump(out, f, indent=2)
    return out


def collect(grid_dirs, feature: str):
    rows = []
    for grid_dir in grid_dirs:
        for run_json in sorted(glob.glob(osp.join(grid_dir, '*', 'run.json'))):
            with open(run_json) as f:
                run = json.load(f)
            if run.get('status') not in ('ok', 'reused') or not run.get('metrics'):
                continue
            run_dir = osp.dirname(run_json)
            sep = run_separability(run_dir, run['checkpoint'], feature)['all']
            seed = SEED.search(run['name'])
            rows.append(dict(
                grid=osp.basename(osp.normpath(grid_dir)), name=run['name'],
                setting=SEED.sub('', run['name']).strip('_') or 'base',
                seed=int(seed.group(2)) if seed else None,
                abs_rel=run['metrics']['abs_rel'], d1=run['metrics']['d1'],
                sep=sep[feature]['score'],
                proj=sep.get('soc.projector', {}).get('score'),
                gratio=median_scalar(run_dir, 'gratio_soc')))
    return rows


def _fmt(values, digits):
    return ' '.join('-' if v is None else f'{v:.{digits}f}' for v in values)


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def report(rows, feature: str) -> str:
    settings = {}
    for r in rows:
        settings.setdefault((r['grid'], r['setting']), []).append(r)
    lines = [f'| grid | setting | seeds | AbsRel per seed | median | separability `{feature}` '
             'per seed | median | projector (median) | gratio_soc (median) |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for (grid, setting), runs in settings.items():
        runs.sort(key=lambda r: (r['seed'] is None, r['seed']))
        med = [_median([r[k] for r in runs]) for k in ('abs_rel', 'sep', 'proj', 'gratio')]
        lines.append(
            f"| {grid} | {setting} | {' '.join(str(r['seed']) for r in runs)} | "
            f"{_fmt([r['abs_rel'] for r in runs], 3)} | {_fmt(med[:1], 3)} | "
            f"{_fmt([r['sep'] for r in runs], 4)} | {_fmt(med[1:2], 4)} | "
            f"{_fmt(med[2:3], 4)} | {_fmt(med[3:], 4)} |")
    return '\n'.join(lines)


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
