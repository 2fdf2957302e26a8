"""Compare methods on the same test sets in one table:
``python tools/analysis_tools/compare.py COMPARE_FILE [--work-dir ROOT] [--dry-run]``.

``COMPARE_FILE`` (e.g. ``configs/compare/demo.py``) names the test sets and the methods (see
:mod:`tr2m.apis.compare`). Each method runs in ``ROOT/<file stem>/<method>/``: its merged
``config.py``, training by ``tools/train.py`` when its checkpoint is ``'train'`` (the last
checkpoint is tested, never a best-on-test one), ``metrics.json`` from ``tools/test.py --out``
and ``run.json``. A method whose ``run.json`` says it finished with the same config is reused
(``--rerun`` forces it); a failing method is recorded and the others go on (exit status 1).
``ROOT/<file stem>/comparison.md`` and ``comparison.csv`` hold the table: per dataset, one row
per method with its metrics, where its weights come from (RANDOM marks components without
pretrained weights) and its protocol (alignment, crop and convention, range, aggregation).
"""
import argparse
import gc
import json
import os
import os.path as osp
import re
import sys
import time
import traceback

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(TOOLS))  # run from a clone

from mmengine.config import DictAction  # noqa: E402

from tr2m.apis.compare import (  # noqa: E402
    config_hash,
    load_compare_spec,
    method_config,
    summarise,
    weights_summary,
)

_UNSAFE = re.compile(r'[^A-Za-z0-9._=+-]+')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Evaluate several methods on the same test sets and write one table',
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


def _load_tool(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f'tr2m_tools_{name}', osp.join(TOOLS, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _last_checkpoint(work_dir: str) -> str:
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            path = f.read().strip()
        for cand in (path, osp.join(work_dir, osp.basename(path))):
            if osp.isfile(cand):
                return cand
    raise RuntimeError(f'training wrote no checkpoint in {work_dir}')


def run_method(name: str, cfg, checkpoint: str, run_dir: str, rerun: bool) -> dict:
    """Train (when asked) and test one method in ``run_dir``; returns its entry."""
    os.makedirs(run_dir, exist_ok=True)
    record = osp.join(run_dir, 'run.json')
    digest = config_hash(cfg)
    if not rerun and osp.isfile(record):
        with open(record) as f:
            old = json.load(f)
        if old.get('status') in ('ok', 'reused') and old.get('config_hash') == digest and \
                old.get('requested_checkpoint') == checkpoint:
            return dict(old, status='reused')
    stamp = f'{os.getpid()}_{time.time_ns() % 10**9}'
    tag = _UNSAFE.sub('_', name)[:60]
    cfg.work_dir = run_dir
    cfg.experiment_name = f'compare_{tag}_{stamp}'  # mmengine keeps runners by name
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer.name = cfg.experiment_name
    config_file = osp.join(run_dir, 'config.py')
    cfg.dump(config_file)
    entry = dict(method=name, config=config_file, config_hash=digest, status='failed',
                 requested_checkpoint=checkpoint, checkpoint=None, result=None, error=None,
                 weights=weights_summary(cfg.model.to_dict(), checkpoint),
                 train_seconds=None, test_seconds=None)
    try:
        ckpt = checkpoint
        if checkpoint == 'train':
            t0 = time.time()
            _load_tool('train.py').main([config_file, '--work-dir', run_dir])
            entry['train_seconds'] = round(time.time() - t0, 2)
            ckpt = _last_checkpoint(run_dir)
        entry['checkpoint'] = ckpt
        out = osp.join(run_dir, 'metrics.json')
        t0 = time.time()
        extra = [f'experiment_name={cfg.experiment_name}_test']
        if isinstance(cfg.get('visualizer'), dict):
            extra.append(f'visualizer.name={cfg.experiment_name}_test')
        _load_tool('test.py').main([config_file, ckpt, '--work-dir', osp.join(run_dir, 'test'),
                                    '--out', out, '--cfg-options', *extra])
        entry['test_seconds'] = round(time.time() - t0, 2)
        with open(out) as f:
            entry['result'] = json.load(f)
        entry['status'] = 'ok'
    except (Exception, SystemExit) as err:  # noqa: BLE001 - one failure must not stop the rest
        entry['error'] = f'{type(err).__name__}: {err}'
        traceback.print_exc()
    finally:
        gc.collect()
    with open(record, 'w') as f:
        json.dump(entry, f, indent=2, default=str)
    return entry


def main(argv=None):
    args = parse_args(argv)
    from tr2m.utils import register_all_modules

    register_all_modules()
    spec = load_compare_spec(args.compare_file)
    for item in args.checkpoint:
        method, sep, ckpt = item.partition('=')
        if not sep or method not in spec['methods']:
            raise SystemExit(f'--checkpoint {item!r}: expected METHOD=CKPT with METHOD one of '
                             f'{list(spec["methods"])}')
        spec['methods'][method]['checkpoint'] = ckpt
    names = args.methods or list(spec['methods'])
    unknown = sorted(set(names) - set(spec['methods']))
    if unknown:
        raise SystemExit(f'--methods: unknown {unknown}; known: {list(spec["methods"])}')
    configs = {n: method_config(spec, n, args.cfg_options) for n in names}  # checks every key
    root = osp.join(args.work_dir, spec['name'])
    print(f'comparison {spec["name"]}: {len(names)} methods on {spec["test_set"]}')
    for n in names:
        print(f'  {n}: {spec["methods"][n]["config"]} '
              f'(checkpoint {spec["methods"][n]["checkpoint"]})')
    if args.dry_run:
        return dict(spec=spec, configs=configs)
    entries = {}
    for i, n in enumerate(names):
        print(f'[{i + 1}/{len(names)}] {n}')
        entries[n] = run_method(n, configs[n], spec['methods'][n]['checkpoint'],
                                osp.join(root, _UNSAFE.sub('_', n)), args.rerun)
    table = summarise(spec, entries)
    os.makedirs(root, exist_ok=True)
    for ext in ('md', 'csv'):
        with open(osp.join(root, f'comparison.{ext}'), 'w') as f:
            f.write(table['markdown' if ext == 'md' else 'csv'])
    print(table['markdown'])
    print(f'table: {osp.join(root, "comparison.md")}, {osp.join(root, "comparison.csv")}')
    failed = [n for n, e in entries.items() if e['status'] == 'failed']
    if failed:
        raise SystemExit(f'{len(failed)} method(s) failed: {failed}')
    return dict(spec=spec, entries=entries, **table)


if __name__ == '__main__':
    from tr2m.utils.errors import UserError

    try:
        main()
    except UserError as err:  # a mistake in the comparison file or the arguments: one line
        print(f'error: {err}', file=sys.stderr)
        sys.exit(err.exit_code)
