"""A pickle bomb served over http on 127.0.0.1 is refused by train.py (``load_from``,
``--resume URL``), test.py and infer.py in one line with exit code 2, before any model is
built, and never runs; a good checkpoint URL tests the same as its local file."""
import functools
import http.server
import json
import os
import shutil
import threading

import pytest
import torch

from tr2m.utils import cli


class Bomb:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """``(folder, base_url)`` served on 127.0.0.1; downloads go to a private TORCH_HOME."""
    folder = tmp_path / 'www'
    folder.mkdir()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    httpd = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield folder, f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def bomb_url(server, tmp_path, tiny_checkpoint):
    """A checkpoint of the tiny model whose meta holds a bomb creating ``tmp_path/MARKER``."""
    folder, base = server
    ckpt = torch.load(tiny_checkpoint, map_location='cpu', weights_only=True)
    ckpt['meta'] = Bomb(f'touch {tmp_path / "MARKER"}')
    torch.save(ckpt, folder / 'evil.pth')
    return f'{base}/evil.pth'


def _exit_2(tool, argv, capsys, prog) -> str:
    with pytest.raises(SystemExit) as info:
        cli.run(tool.main, argv, prog=prog)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and err.startswith(f'{prog}: error: checkpoint '), err
    return err


def test_train_refuses_a_url_bomb(load_tool, tiny_config, bomb_url, tmp_path, capsys):
    train = load_tool('tools/train.py')
    work = tmp_path / 'work'
    err = _exit_2(train, [str(tiny_config), '--work-dir', str(work), '--cfg-options',
                          f'load_from={bomb_url}'], capsys, 'train.py')
    assert bomb_url in err and 'does not unpickle' in err and 'system' in err
    err = _exit_2(train, [str(tiny_config), '--work-dir', str(work), '--resume', bomb_url],
                  capsys, 'train.py')
    assert 'does not unpickle' in err
    assert not (tmp_path / 'MARKER').exists()
    assert not list(work.glob('*/*.log'))  # refused before the runner was built


def test_test_and_infer_refuse_a_url_bomb(load_tool, tiny_config, infer_config, bomb_url,
                                          tmp_path, capsys):
    err = _exit_2(load_tool('tools/test.py'), [str(tiny_config), bomb_url, '--work-dir',
                                               str(tmp_path / 'work')], capsys, 'test.py')
    assert 'does not unpickle' in err
    img = tmp_path / 'img.png'
    import cv2
    import numpy as np
    cv2.imwrite(str(img), np.zeros((32, 32, 3), np.uint8))
    err = _exit_2(load_tool('tools/infer.py'), [str(infer_config), bomb_url, '--img', str(img),
                                                '--text', 'a room', '--out-dir',
                                                str(tmp_path / 'out')], capsys, 'infer.py')
    assert 'does not unpickle' in err
    assert not (tmp_path / 'MARKER').exists()


def test_test_py_with_a_good_url_equals_the_local_file(load_tool, tiny_config, tiny_checkpoint,
                                                       server, tmp_path):
    folder, base = server
    shutil.copy(tiny_checkpoint, folder / 'tiny.pth')
    test = load_tool('tools/test.py')
    results = {}
    for name, ckpt in (('local', str(tiny_checkpoint)), ('url', f'{base}/tiny.pth')):
        out = tmp_path / f'{name}.json'
        test.main([str(tiny_config), ckpt, '--work-dir', str(tmp_path / name), '--out', str(out)])
        results[name] = json.loads(out.read_text())['metrics']
    assert results['url'] == results['local']
    assert (tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'tiny.pth').is_file()
