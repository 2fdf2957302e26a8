"""Plot the loss and metric curves of a work dir to PNG.

``python tools/analysis_tools/analyze_logs.py WORK_DIR [--out DIR] [--losses K ...]
[--metrics K ...] [--log-y]``

Reads every run of the work dir (``<timestamp>/vis_data/scalars.json``, which mmengine's
``LocalVisBackend`` writes; a resumed training adds a run, and later runs win where steps
repeat) and writes to ``--out`` (default ``WORK_DIR/analysis``):

- ``losses.png``: the training losses (every logged key containing ``loss``, or ``--losses``)
  and the learning rate against the iteration;
- ``metrics.png``: one plot per validation metric (``abs_rel``, ``rmse``, ``silog``, ``d1`` by
  default, or ``--metrics``) against the epoch (the step the logger uses), one line per dataset
  prefix (``synthetic_indoor/abs_rel``, ...) and for all datasets together;
- ``curves.json``: the plotted numbers.

It prints the last loss and the best value of each metric.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tr2m.utils import cli  # noqa: E402
from tr2m.utils.errors import DataError, MissingFileError  # noqa: E402

DEFAULT_METRICS = ('abs_rel', 'rmse', 'silog', 'd1')
#: Metrics where larger is better (for "best").
HIGHER_IS_BETTER = ('d1', 'd2', 'd3')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Plot loss and metric curves of a work dir')
    parser.add_argument('work_dir', help='the work dir of tools/train.py')
    parser.add_argument('--out', help='output folder (default: WORK_DIR/analysis)')
    parser.add_argument('--losses', nargs='+', help='training keys to plot (default: every key '
                        'containing "loss")')
    parser.add_argument('--metrics', nargs='+', default=list(DEFAULT_METRICS),
                        help='validation metrics to plot')
    parser.add_argument('--log-y', action='store_true', help='logarithmic y axis for losses')
    cli.add_debug_argument(parser)
    return parser.parse_args(argv)


def read_runs(work_dir: str) -> Tuple[List[dict], List[dict], List[str]]:
    """``(train records, val records, files)`` of every run, oldest run first.

    Raises:
        MissingFileError: no work dir, or no ``scalars.json`` in it.
        DataError: a line that is not JSON (naming the file and line).
    """
    if not osp.isdir(work_dir):
        raise MissingFileError(f'work dir not found: {work_dir}')
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise MissingFileError(f'no */vis_data/scalars.json under {work_dir} (is it the work '
                               'dir of tools/train.py, with LocalVisBackend in vis_backends?)')
    train: Dict[int, dict] = {}
    val: Dict[int, dict] = {}
    for path in files:
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f'{path}:{lineno} is not JSON: {err}') from err
                step = int(rec.get('step', lineno))
                # training lines carry the learning rate; validation lines carry metrics
                (train if 'lr' in rec or any('loss' in k for k in rec) else val)[step] = rec
    return ([train[k] for k in sorted(train)], [val[k] for k in sorted(val)], files)


def loss_series(train: List[dict], keys=None) -> 'OrderedDict[str, tuple]':
    """``{key: (iterations, values)}`` of the training records."""
    keys = keys or sorted({k for r in train for k in r if 'loss' in k},
                          key=lambda k: (k != 'loss', k))
    out = OrderedDict()
    for key in keys:
        pts = [(r.get('iter', r.get('step')), r[key]) for r in train if key in r]
        if pts:
            out[key] = tuple(zip(*pts))
    return out


def metric_series(val: List[dict], metric: str) -> 'OrderedDict[str, tuple]':
    """``{dataset prefix or 'all': (steps, values)}`` of one metric."""
    out = OrderedDict()
    names = sorted({k.rpartition('/')[0] or 'all' for r in val for k in r
                    if k.rpartition('/')[2] == metric}, key=lambda n: (n != 'all', n))
    for name in names:
        key = metric if name == 'all' else f'{name}/{metric}'
        pts = [(r['step'], r[key]) for r in val if key in r]
        if pts:
            out[name] = tuple(zip(*pts))
    return out


def main(argv=None):
    args = parse_args(argv)
    from tr2m.visualization.curves import grid, plot_curves
    from tr2m.visualization.depth_panels import save_rgb

    train, val, files = read_runs(args.work_dir)
    out = args.out or osp.join(args.work_dir, 'analysis')
    os.makedirs(out, exist_ok=True)
    losses = loss_series(train, args.losses)
    if args.losses and not losses:
        raise DataError(f'none of {args.losses} was logged in {files}')
    plots = [plot_curves(losses, 'training losses', 'iteration', log_y=args.log_y)]
    if any('lr' in r for r in train):
        lr = OrderedDict(lr=tuple(zip(*[(r.get('iter', r['step']), r['lr'])
                                        for r in train if 'lr' in r])))
        plots.append(plot_curves(lr, 'learning rate', 'iteration', log_y=True))
    written = [save_rgb(osp.join(out, 'losses.png'), grid(plots, 2))]
    metrics = OrderedDict((m, metric_series(val, m)) for m in args.metrics)
    metrics = OrderedDict((m, s) for m, s in metrics.items() if s)
    if metrics:
        written.append(save_rgb(osp.join(out, 'metrics.png'), grid(
            [plot_curves(s, m, 'epoch') for m, s in metrics.items()], 2)))
    with open(osp.join(out, 'curves.json'), 'w') as f:
        json.dump(dict(runs=files, losses=losses, metrics=metrics), f, indent=1)
    for key, (x, y) in losses.items():
        print(f'{key:<24} last {y[-1]:.4g} (iteration {x[-1]})')
    for m, s in metrics.items():
        for name, (x, y) in s.items():
            pick = max if m in HIGHER_IS_BETTER else min
            best = pick(range(len(y)), key=lambda i: y[i])
            print(f'{m + " " + name:<24} best {y[best]:.4g} (epoch {x[best]}), last {y[-1]:.4g}')
    print('written: ' + ', '.join(written))
    return written


if __name__ == '__main__':
    cli.run(main)
