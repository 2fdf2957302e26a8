"""Every checkpoint source mmengine knows loads with weights_only=True (tr2m/utils/
checkpoint_sources.py): a pickle bomb served on 127.0.0.1 is refused through http, torchvision,
modelzoo, open-mmlab, openmmlab and mmcls names, init_cfg and object storage, and never runs; a
good checkpoint downloads once and equals the saved weights."""
import functools
import http.server
import os
import threading

import pytest
import torch
from mmengine.runner import checkpoint as mm_ckpt
from mmengine.runner.checkpoint import CheckpointLoader

import tr2m  # noqa: F401  (registers the safe loaders)
from tr2m.utils.checkpoint_sources import is_remote_checkpoint
from tr2m.utils.errors import CheckpointError, MissingCheckpointError


class Bomb:
    """Unpickling this calls ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Quiet.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A folder served on 127.0.0.1 (``(folder, base_url)``); downloads go to a private
    TORCH_HOME; the marker a bomb would create is ``tmp_path / 'MARKER'``."""
    folder = tmp_path / 'www'
    folder.mkdir()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    _Quiet.requests = []
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def _bomb(folder, marker, name='bomb.pth'):
    torch.save(dict(state_dict=dict(w=torch.ones(2)), meta=Bomb(f'touch {marker}')),
               folder / name)
    return name


def _good(folder, name='good.pth'):
    gen = torch.Generator().manual_seed(0)
    state = dict(weight=torch.randn(3, 4, generator=gen), bias=torch.randn(3, generator=gen))
    torch.save(dict(state_dict=state, meta=dict(epoch=2)), folder / name)
    return name, state


def _refused(source, marker) -> str:
    with pytest.raises(CheckpointError) as info:
        CheckpointLoader.load_checkpoint(source, map_location='cpu', logger='silent')
    msg = str(info.value)
    assert '\n' not in msg and 'does not unpickle' in msg and 'system' in msg, msg
    assert not marker.exists()  # the bomb never ran
    return msg


def test_every_registered_scheme_is_ours():
    names = {p: f.__name__ for p, f in CheckpointLoader._schemes.items()}
    assert names[''] == 'load_from_local'
    assert names['http://'] == names['https://'] == 'load_from_url'
    for prefix in ('torchvision://', 'modelzoo://', 'open-mmlab://', 'openmmlab://', 'mmcls://'):
        assert names[prefix] == 'load_from_named'
    assert names[r'(\S+\:)?s3://'] == names[r'(\S+\:)?petrel://'] == 'load_from_storage'
    assert names['pavi://'] == 'load_from_refused'
    assert all(f.__module__.startswith('tr2m.') for f in CheckpointLoader._schemes.values())


def test_is_remote_checkpoint():
    for remote in ('http://h/x.pth', 'https://h/x.pth', 'torchvision://resnet50',
                   'open-mmlab://x', 'mmcls://x', 's3://b/x.pth', 'open-mmlab:s3://b/x'):
        assert is_remote_checkpoint(remote), remote
    for local in ('x.pth', '/a/b.pth', 'work_dirs/run/epoch_1.pth', 'C:/w/x.pth', None):
        assert not is_remote_checkpoint(local), local


def test_url_bomb_is_refused(served, tmp_path):
    folder, base = served
    msg = _refused(f'{base}/{_bomb(folder, tmp_path / "MARKER")}', tmp_path / 'MARKER')
    assert msg.startswith(f'checkpoint {base}/bomb.pth holds an object')


@pytest.mark.parametrize('prefix,table', [
    ('torchvision://', 'get_torchvision_models'), ('modelzoo://', 'get_torchvision_models'),
    ('open-mmlab://', 'get_external_models'), ('openmmlab://', 'get_external_models'),
    ('mmcls://', 'get_mmcls_models')])
def test_named_bomb_is_refused(served, tmp_path, monkeypatch, prefix, table):
    folder, base = served
    url = f'{base}/{_bomb(folder, tmp_path / "MARKER")}'
    monkeypatch.setattr(mm_ckpt, table, lambda: {'evilnet': url})
    _refused(f'{prefix}evilnet', tmp_path / 'MARKER')


def test_open_mmlab_local_file_bomb_is_refused(tmp_path, monkeypatch):
    home = tmp_path / 'mmengine_home'
    home.mkdir()
    _bomb(home, tmp_path / 'MARKER', 'local_bomb.pth')
    monkeypatch.setattr(mm_ckpt, 'get_external_models', lambda: {'evilnet': 'local_bomb.pth'})
    monkeypatch.setattr(mm_ckpt, '_get_mmengine_home', lambda: str(home))
    _refused('open-mmlab://evilnet', tmp_path / 'MARKER')


def test_storage_bomb_is_refused(tmp_path, monkeypatch):
    import io

    import mmengine.fileio

    buf = io.BytesIO()
    torch.save(dict(meta=Bomb(f'touch {tmp_path / "MARKER"}')), buf)
    monkeypatch.setattr(mmengine.fileio, 'get', lambda filename, **kw: buf.getvalue())
    msg = _refused('s3://bucket/bomb.pth', tmp_path / 'MARKER')
    assert 's3://bucket/bomb.pth' in msg


def test_init_cfg_pretrained_url_bomb_is_refused(served, tmp_path):
    from mmengine.model import BaseModule

    folder, base = served
    url = f'{base}/{_bomb(folder, tmp_path / "MARKER")}'
    module = BaseModule(init_cfg=dict(type='Pretrained', checkpoint=url))
    with pytest.raises(CheckpointError, match='does not unpickle'):
        module.init_weights()
    assert not (tmp_path / 'MARKER').exists()


def test_good_url_loads_equal_weights_and_downloads_once(served, tmp_path):
    from mmengine.runner import load_checkpoint

    folder, base = served
    name, state = _good(folder)
    url = f'{base}/{name}'
    ckpt = CheckpointLoader.load_checkpoint(url, map_location='cpu', logger='silent')
    assert ckpt['meta'] == dict(epoch=2)
    for key, value in state.items():
        assert torch.equal(ckpt['state_dict'][key], value)
    model = torch.nn.Linear(4, 3)
    load_checkpoint(model, url, map_location='cpu', logger='silent')  # mmengine's own entry
    assert torch.equal(model.weight, state['weight']) and torch.equal(model.bias, state['bias'])
    assert _Quiet.requests == ['/good.pth']  # the second load read the cache
    assert (tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'good.pth').is_file()


def test_hash_in_the_name_is_checked(served, tmp_path):
    folder, base = served
    _good(folder, 'net-0123abcd.pth')  # not the sha256 of the file
    with pytest.raises(CheckpointError, match='invalid hash value'):
        CheckpointLoader.load_checkpoint(f'{base}/net-0123abcd.pth', logger='silent')
    assert not (tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'net-0123abcd.pth').exists()


def test_unreachable_sources_are_one_line(served, tmp_path):
    folder, base = served
    with pytest.raises(CheckpointError, match=r'^cannot download checkpoint .*/missing\.pth: '):
        CheckpointLoader.load_checkpoint(f'{base}/missing.pth', logger='silent')
    with pytest.raises(MissingCheckpointError, match="torchvision:// knows no model 'nonet'"):
        CheckpointLoader.load_checkpoint('torchvision://nonet', logger='silent')
    with pytest.raises(CheckpointError, match=r"through 'pavi://'.*local path$"):
        CheckpointLoader.load_checkpoint('pavi://x/y.pth', logger='silent')
