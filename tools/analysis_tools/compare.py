"""Compare methods on the same test sets in one table:
``python tools/analysis_tools/compare.py COMPARE_FILE [--work-dir ROOT] [--dry-run]``.

``COMPARE_FILE`` (e.g. ``configs/compare/demo.py``) names the test sets and the methods (see
:mod:`tr2m.analysis.compare`). Each method runs in ``ROOT/<file stem>/<method>/``: its merged
``config.py``, training as ``tools/train.py`` does when its checkpoint is ``'train'`` (the last
checkpoint is tested, never a best-on-test one), ``metrics.json`` from ``tools/test.py --out``
and ``run.json``. A method whose ``run.json`` says it finished with the same config is reused
(``--rerun`` forces it); a failing method is recorded and the others go on (exit status 1).
``ROOT/<file stem>/comparison.md`` and ``comparison.csv`` hold the table: per dataset, one row
per method with its metrics, where its weights come from (RANDOM marks components without
pretrained weights) and its protocol (alignment, crop and convention, range, aggregation).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import DictAction  # noqa: E402

from tr2m.analysis.compare import run_comparison  # noqa: E402
from tr2m.utils.errors import ArgumentError  # noqa: E402


def parse_args(argv=None):
    from tr2m.utils.cli import code_execution_note

    parser = argparse.ArgumentParser(
        description='Evaluate several methods on the same test sets and write one table.\n\n'
        + code_execution_note('COMPARE_FILE and every config it names are',
                              width=79),
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('compare_file', help='comparison file (test_set, methods, ...)')
    parser.add_argument('--work-dir', default='work_dirs/compare',
                        help='root folder; methods run in ROOT/<file stem>/<method>')
    parser.add_argument('--checkpoint', nargs='+', default=[], metavar='METHOD=CKPT',
                        help="use this checkpoint (or 'none' / 'train') for a method")
    parser.add_argument('--methods', nargs='+', help='run only these methods')
    parser.add_argument('--dry-run', action='store_true',
                        help='check every config and override, print the methods, run nothing')
    parser.add_argument('--rerun', action='store_true', help='re-run finished methods')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='overrides for every method (key=value; unknown keys are errors)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from tr2m.utils import register_all_modules

    register_all_modules()
    checkpoints = {}
    for item in args.checkpoint:
        method, sep, ckpt = item.partition('=')
        if not sep:
            raise ArgumentError(f'--checkpoint {item!r}: expected METHOD=CKPT')
        checkpoints[method] = ckpt
    out = run_comparison(args.compare_file, args.work_dir, checkpoints, args.methods,
                         args.cfg_options, args.rerun, args.dry_run)
    failed = [n for n, e in out.get('entries', {}).items() if e['status'] == 'failed']
    if failed:
        raise SystemExit(f'{len(failed)} method(s) failed: {failed}')
    return out


if __name__ == '__main__':
    from tr2m.utils.errors import UserError

    try:
        main()
    except UserError as err:  # a mistake in the comparison file or the arguments: one line
        print(f'error: {err}', file=sys.stderr)
        sys.exit(err.exit_code)
