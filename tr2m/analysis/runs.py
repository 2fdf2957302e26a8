"""What an ablation grid and a comparison do for each of their entries: train and test a config
file in this process (the code of ``tools/train.py`` and ``tools/test.py``, through
:mod:`tr2m.apis.runs`), find the checkpoint to test, and reuse a finished entry.
"""
import gc
import glob
import json
import os
import os.path as osp
import time
from typing import Any, Dict, List, Optional

from tr2m.apis.runs import format_table, test_config, test_result, train_config
from tr2m.cache import apply_feature_cache
from tr2m.utils import register_all_modules
from tr2m.utils.config import load_config

#: Statuses of a finished entry (``run.json``), reused unless asked to run again.
FINISHED = ('ok', 'reused')


def train_file(config_file: str, work_dir: str) -> None:
    """``python tools/train.py CONFIG --work-dir DIR`` in this process."""
    register_all_modules()
    cfg = apply_feature_cache(load_config(config_file, work_dir=work_dir))
    train_config(cfg)


def test_file(config_file: str, checkpoint: str, work_dir: str, out: str,
              cfg_options: Optional[Dict[str, Any]] = None) -> dict:
    """``python tools/test.py CONFIG CKPT --work-dir DIR --out OUT [--cfg-options ...]`` in
    this process; returns what it writes to ``out``."""
    register_all_modules()
    cfg = apply_feature_cache(load_config(config_file, cfg_options, work_dir))
    outcome = test_config(cfg, checkpoint)
    result = test_result(config_file, checkpoint, cfg, outcome)
    if outcome.main_process:
        print(format_table(outcome.metrics))
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'w') as f:
            json.dump(result, f, indent=2, default=float)
        print(f'metrics and protocol written to {out}')
    return result


def find_checkpoint(work_dir: str, which: str = 'last') -> Optional[str]:
    """The checkpoint a training in ``work_dir`` left: ``'last'`` (``last_checkpoint``, else
    the newest ``*.pth``) or ``'best'`` (the newest ``best_*.pth``, else the last); None when
    there is none."""
    if which == 'best':
        best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')), key=osp.getmtime)
        if best:
            return best[-1]
    elif which != 'last':
        raise ValueError(f"which must be 'last' or 'best', got {which!r}")
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            path = f.read().strip()
        if osp.isfile(path):
            return path
        if osp.isfile(osp.join(work_dir, osp.basename(path))):  # the work dir was moved
            return osp.join(work_dir, osp.basename(path))
    found = sorted(glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime)
    return found[-1] if found else None


def finished_entry(record_file: str, **same: Any) -> Optional[dict]:
    """The ``run.json`` of a finished entry whose fields equal ``same`` (config hash, test,
    checkpoint...), else None."""
    if not osp.isfile(record_file):
        return None
    with open(record_file) as f:
        old = json.load(f)
    if old.get('status') in FINISHED and all(old.get(k) == v for k, v in same.items()):
        return old
    return None


def name_runners(cfg, name: str) -> List[str]:
    """Give the config's runner (and visualizer) a name no other runner of this process has
    (mmengine keeps loggers and visualizers per name); returns the ``--cfg-options`` of the
    matching test run."""
    stamp = f'{os.getpid()}_{time.time_ns() % 10**9}'
    cfg.experiment_name = f'{name}_{stamp}'
    options = [f'experiment_name={name}_test_{stamp}']
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer.name = cfg.experiment_name
        options.append(f'visualizer.name={name}_test_{stamp}')
    return options


def options_dict(options: List[str]) -> Dict[str, str]:
    """``['k=v', ...]`` as ``{k: v}``."""
    return dict(o.split('=', 1) for o in options)


def to_json(value: Any) -> Any:
    """A JSON-able copy: dicts with string keys, tuples as lists, other objects by ``repr``."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def write_entry(record_file: str, entry: dict) -> None:
    with open(record_file, 'w') as f:
        json.dump(entry, f, indent=2, default=str)


def release_memory() -> None:
    """Free what a finished run left (Python garbage, the CUDA cache)."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


__all__ = ['train_file', 'test_file', 'find_checkpoint', 'finished_entry', 'name_runners',
           'options_dict', 'to_json', 'write_entry', 'release_memory', 'FINISHED']
