"""The console of a run: a short header instead of mmengine's dumps (which go to files), the two
upstream deprecation notices silenced, and validation scalars on TensorBoard's iteration axis."""
import glob
import json
import logging
import os.path as osp

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tr2m.apis import runs
from tr2m.engine.console import ConsoleDigestFilter, UpstreamDeprecationFilter, quiet_console
from tr2m.utils import register_all_modules
from tr2m.utils.config import load_config


def _record(msg: str) -> logging.LogRecord:
    return logging.LogRecord('mmengine', logging.WARNING, __file__, 1, msg, None, None)


def test_exactly_the_two_upstream_notices_are_dropped():
    keep = UpstreamDeprecationFilter().filter
    assert not keep(_record('"FileClient" will be deprecated in future. Please use io functions'))
    assert not keep(_record('"HardDiskBackend" is the alias of "LocalBackend" and the former '
                            'will be deprecated in future.'))
    assert keep(_record('"PetrelBackend" will be deprecated in future.'))
    assert keep(_record('FileClient could not be built'))
    digest = ConsoleDigestFilter().filter
    assert not digest(_record('Config:\nmodel = dict(...)'))
    assert digest(_record('Epoch(train) [1][2/2]  loss: 1.0'))


def test_quiet_console_filters_the_console_only_and_once(tmp_path):
    logger = logging.getLogger('tr2m_test_quiet_console')
    console, log_file = logging.StreamHandler(), logging.FileHandler(tmp_path / 'x.log')
    logger.handlers = [console, log_file]
    quiet_console(quiet_console(logger))
    assert len(logger.filters) == 1 and len(console.filters) == 1 and not log_file.filters
    log_file.close()


@pytest.mark.slow
def test_train_and_test_runs_show_a_header_and_write_the_dumps(tiny_config, tmp_path, capsys):
    register_all_modules()
    work = tmp_path / 'work'
    cfg = load_config(str(tiny_config), {
        'train_cfg.max_epochs': 2, 'train_cfg.val_interval': 1,
        'train_dataloader.batch_size': 2, 'default_hooks.logger.interval': 1,
        'visualizer.vis_backends': [dict(type='LocalVisBackend'),
                                    dict(type='TensorboardVisBackend')]}, str(work))
    runs.train_config(cfg)
    console = capsys.readouterr().out
    assert 'tr2m train' in console
    header = console[console.index('tr2m train'):].splitlines()[:10]
    rows = {ln.split()[0] + (' ' + ln.split()[1] if ln.split()[0] == 'full' else ''): ln
            for ln in header[1:] if ln.startswith('  ')}
    assert rows['work'].split()[-1] == str(work)
    assert rows['data'].split(None, 1)[1] == 'train 6 images, val 6 images'
    assert 'cpu, 1 process(es), precision float32' in rows['device']
    assert rows['seed'].split(None, 1)[1] == '0 (deterministic)'
    env_file = rows['full environment'].split()[-1]
    log_file = rows['full log'].split()[-1]
    assert rows['full config'].split()[-1] == str(work / 'tiny_tr2m.py')
    for dump in ('System environment', 'Config:', 'Hooks will be executed', 'FileClient',
                 'HardDiskBackend'):
        assert dump not in console, dump
    log = open(log_file).read()
    assert 'System environment' in log and 'Config:' in log and 'Hooks will be executed' in log
    assert 'FileClient' not in log and 'HardDiskBackend' not in log
    env = open(env_file).read()
    assert env.startswith('System environment:') and 'PyTorch: ' in env and 'seed: 0' in env
    assert osp.isfile(work / 'tiny_tr2m.py')

    # 3 iterations per epoch: validation after iterations 3 and 6 (epochs 1 and 2)
    events = glob.glob(str(work / '*' / 'vis_data' / 'events.out.tfevents.*'))
    acc = EventAccumulator(osp.dirname(events[0]), size_guidance={'scalars': 0})
    acc.Reload()
    assert [e.step for e in acc.Scalars('synthetic_indoor/abs_rel')] == [3, 6]
    assert [e.step for e in acc.Scalars('loss')] == [1, 2, 3, 4, 5, 6]
    records = [json.loads(ln) for ln in open(glob.glob(str(work / '*/vis_data/scalars.json'))[0])]
    assert [r['step'] for r in records if 'synthetic_indoor/abs_rel' in r] == [1, 2]  # epochs

    outcome = runs.test_config(load_config(str(tiny_config), None, str(tmp_path / 'test')), 'none')
    console = capsys.readouterr().out
    assert 'tr2m test' in console and 'test 6 images' in console
    assert 'System environment' not in console and 'abs_rel' in outcome.metrics
