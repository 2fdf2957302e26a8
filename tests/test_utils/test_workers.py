"""num_workers='auto' and pin_memory='auto' (tr2m.utils.workers, DepthRunner.build_dataloader)."""
import os

import pytest
import torch
from mmengine.registry import DefaultScope

from tr2m.engine.runner import DepthRunner
from tr2m.utils.errors import ConfigError
from tr2m.utils.workers import (
    MAX_AUTO_WORKERS,
    auto_num_workers,
    available_cpus,
    resolve_loader_settings,
)


def test_auto_num_workers_from_cpus_and_ranks():
    assert auto_num_workers(cpus=16, ranks=1) == min(15, MAX_AUTO_WORKERS) == 8
    assert auto_num_workers(cpus=16, ranks=4) == 3  # 4 cores per rank, one for its main loop
    assert auto_num_workers(cpus=2, ranks=1) == 1
    assert auto_num_workers(cpus=1, ranks=1) == 0
    assert auto_num_workers(cpus=64, ranks=1, cap=32) == 32
    assert auto_num_workers() == max(0, min(MAX_AUTO_WORKERS, available_cpus() // int(
        os.environ.get('LOCAL_WORLD_SIZE', 1)) - 1))
    if hasattr(os, 'sched_getaffinity'):
        assert available_cpus() == len(os.sched_getaffinity(0))


def test_resolve_loader_settings(monkeypatch):
    monkeypatch.setattr('tr2m.utils.workers.available_cpus', lambda: 1)
    out = resolve_loader_settings(dict(num_workers='auto', persistent_workers=True,
                                       pin_memory='auto', batch_size=2))
    assert out['num_workers'] == 0 and 'persistent_workers' not in out
    assert out['pin_memory'] is torch.cuda.is_available() and out['batch_size'] == 2
    monkeypatch.setattr('tr2m.utils.workers.available_cpus', lambda: 5)
    out = resolve_loader_settings(dict(num_workers='auto', persistent_workers=True))
    assert out == dict(num_workers=4, persistent_workers=True, pin_memory=False)
    with pytest.raises(ConfigError, match='train_dataloader.num_workers'):
        resolve_loader_settings(dict(num_workers='many'), 'train_dataloader')
    with pytest.raises(ConfigError, match='pin_memory'):
        resolve_loader_settings(dict(pin_memory='yes'))


def _build(rgbd_real, **kwargs):
    cfg = dict(sampler=dict(type='DefaultSampler', shuffle=False),
               dataset=dict(type='DepthManifestDataset', data_root=str(rgbd_real),
                            ann_file='manifest.json', datasets=['nyu_v2'], pipeline=[]),
               **kwargs)
    with DefaultScope.overwrite_default_scope('tr2m'):
        return DepthRunner.build_dataloader(cfg, seed=0)


def test_runner_builds_auto_loaders(monkeypatch, rgbd_real):
    monkeypatch.setattr('tr2m.utils.workers.available_cpus', lambda: 3)
    loader = _build(rgbd_real, batch_size=2, num_workers='auto', persistent_workers=True,
                    pin_memory='auto')
    assert loader.num_workers == 2 and loader.persistent_workers
    assert loader.pin_memory is torch.cuda.is_available()


def test_workers_keep_large_buffers(monkeypatch, rgbd_real):
    import pickle

    from tr2m.utils.workers import keep_large_buffers, worker_init_with_buffers

    calls = []
    init = worker_init_with_buffers(calls.append)
    init(3)
    assert calls == [3]
    pickle.dumps(worker_init_with_buffers(None))  # spawn / forkserver start methods
    assert keep_large_buffers() in (True, False)  # True on glibc
    monkeypatch.setattr('tr2m.utils.workers.available_cpus', lambda: 2)
    loader = _build(rgbd_real, batch_size=1, num_workers='auto')
    assert loader.num_workers == 1
    assert loader.worker_init_fn.func.__name__ == '_worker_init'
    assert len(list(loader)) == 3  # the workers start with it


def test_auto_loader_settings_pass_the_value_check():
    """``num_workers='auto'`` / ``pin_memory='auto'`` are values, not mistakes, at config load."""
    import pytest
    from mmengine.config import Config

    from tr2m.utils.config import check_values
    from tr2m.utils.errors import ConfigError

    ok = Config(dict(train_dataloader=dict(batch_size=2, num_workers='auto', pin_memory='auto')))
    check_values(ok)
    for bad, says in ((dict(num_workers=-1), "an integer >= 0 or 'auto'"),
                      (dict(pin_memory='yes'), "True, False or 'auto'")):
        with pytest.raises(ConfigError, match=says):
            check_values(Config(dict(train_dataloader=dict(batch_size=2, **bad))))
