"""Run an ablation grid: ``python tools/ablate.py GRID_FILE [--dry-run] [--work-dir ROOT]``.

A grid file is a Python file::

    base = 'configs/tr2m_da_s.py'          # relative to the current folder or to the grid file
    grid = {
        'model.loss_pseudo.rho': [0.8, 0.9, 0.95],
        'model.soc': [None, dict(type='ScaleOrientedContrast')],
        # labelled values: {label: value}; the label names the run
        'model.neck.text_tokens': {'pooled': 'pooled', 'all': 'all'},
    }
    mode = 'product'   # optional: 'product' (every combination, default) or 'zip' (i-th values)
    test = True        # optional: test each run's checkpoint after training (default True)
    options = {'train_cfg.max_epochs': 5}   # optional: overrides shared by every run

Keys are dotted config keys, checked strictly: an unknown key is an error naming the closest
existing keys (``tr2m.utils.config.check_keys_exist``), for every run, before anything trains.
A dict value merges into the existing dict (mmengine semantics); put ``_delete_=True`` in it to
replace the whole dict. ``--cfg-options`` adds overrides shared by every run, after ``options``.

Each run is named from its values (``rho=0.8__soc=none``; the last key component, or
more where two keys end alike; dicts by their ``type``, other values by a short hash), and lives
in ``ROOT/<grid file stem>/<run name>/`` (``ROOT`` defaults to ``work_dirs/ablations``):
``config.py`` (the merged config), the training outputs of ``tools/train.py`` (same code path,
called in-process), ``test/`` and ``metrics.json`` from ``tools/test.py`` on the run's last
checkpoint (``--ckpt best`` for the best one the config's checkpoint hook kept), and
``run.json``. A run whose ``run.json`` says it finished with the same config is reused, not
re-run (``--rerun`` forces it). A failing run is recorded and the grid goes on; the exit status
is 1 if any run failed.

``ROOT/<grid>/summary.json``: ``grid``, ``grid_file``, ``base``, ``mode``, ``test``, ``options``
and ``runs``: one entry per run with ``name``, ``overrides`` (key -> value), ``work_dir``,
``status`` (``'ok'``, ``'reused'``, ``'failed'``), ``checkpoint``, ``metrics`` (as
``tools/test.py --out`` writes them), ``protocol``, ``train_seconds``, ``test_seconds`` and
``error``. ``ROOT/<grid>/summary.md``: a markdown table of the runs, their values and metrics
(aggregate over all test images, then per dataset when there are several).
"""
import argparse
import os.path as osp
import sys
from typing import TYPE_CHECKING

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

# Only light imports here: --help and argument errors answer before torch, mmengine and the
# models are imported (``run_grid`` is bound on first use: PEP 562 __getattr__, main()).
from tr2m.utils import cli, register_all_modules  # noqa: E402
from tr2m.utils.cli import DictAction  # noqa: E402
from tr2m.utils.lazy import LazyNames  # noqa: E402

_LIBRARY = LazyNames(globals(), {'run_grid': 'tr2m.analysis.ablation'})
__getattr__, __dir__ = _LIBRARY.getattr, _LIBRARY.dir
if TYPE_CHECKING:  # for readers and linters
    from tr2m.analysis.ablation import run_grid


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train (and test) every run of an ablation grid.\n\n' + cli.code_execution_note(
            'GRID_FILE and every config it names are', width=79),
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('grid_file', help='grid file (Python: base, grid[, mode, test, options])')
    parser.add_argument('--dry-run', action='store_true',
                        help='validate every key and print the runs; train nothing')
    parser.add_argument('--work-dir', default='work_dirs/ablations',
                        help='root folder; runs go to ROOT/<grid name>/<run name>')
    parser.add_argument('--ckpt', choices=('last', 'best'), default='last',
                        help="which checkpoint to test: the last one, or the best one kept by "
                        "the checkpoint hook's save_best (falls back to the last)")
    parser.add_argument('--rerun', action='store_true', help='re-run finished runs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='overrides shared by every run (key=value; unknown keys are errors)')
    cli.add_debug_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    _LIBRARY.bind()
    register_all_modules()
    summary = run_grid(args.grid_file, args.work_dir, args.ckpt, args.rerun, args.cfg_options,
                       args.dry_run)
    failed = [e['name'] for e in summary.get('runs', []) if e.get('status') == 'failed']
    if failed:  # not a user mistake: exit status 1, as documented
        print(f'{len(failed)} run(s) failed: {failed}', file=sys.stderr)
        raise SystemExit(1)
    return summary


if __name__ == '__main__':
    cli.run(main)
