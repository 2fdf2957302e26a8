"""The test-data fetcher against a local file server on 127.0.0.1 (nothing leaves the machine),
and the one setting the tests find their data through."""
import hashlib
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tr2m.cli import fetch_test_data as fetch_cli
from tr2m.utils import test_data
from tr2m.utils.errors import DataError

REPO = Path(__file__).resolve().parents[2]


class _Files(http.server.BaseHTTPRequestHandler):
    """Serves ``self.server.files`` (``{url path: bytes}``); 404 for anything else."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        data = self.server.files.get(self.path)
        self.server.requests.append(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def file_server():
    """``(files, template)``: put bytes in ``files['/repo/commit/path']``; the fetcher reads
    them through ``template``. The server stops after the test."""
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Files)
    server.files, server.requests = {}, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    template = f'http://127.0.0.1:{server.server_address[1]}/{{repo}}/{{commit}}/{{path}}'
    yield server, template
    server.shutdown()
    server.server_close()


def _pins(entries: dict) -> dict:
    """A pin file of one source and one folder: ``{name: (sha256, remote name)}``."""
    return dict(url_template='unused', sources={'src': dict(repo='o/r', commit='c0ffee')},
                folders={'frames': dict(source='src', remote='data', files={
                    name: digest if remote == name else dict(path=f'data/{remote}', sha256=digest)
                    for name, (digest, remote) in entries.items()})},
                local_files={'notes/SOURCE': 'o/r@c0ffee\n'})


def test_good_wrong_and_missing_files(file_server, tmp_path):
    server, template = file_server
    good, bad = b'real frame bytes', b'tampered bytes'
    server.files['/o/r/c0ffee/data/good.png'] = good
    server.files['/o/r/c0ffee/data/upstream_name.png'] = good  # renamed on the way in
    server.files['/o/r/c0ffee/data/bad.png'] = bad
    sha = hashlib.sha256(good).hexdigest()
    pins = _pins({'good.png': (sha, 'good.png'), 'renamed.png': (sha, 'upstream_name.png'),
                  'bad.png': (sha, 'bad.png'), 'gone.png': (sha, 'gone.png')})
    files = test_data.pinned_files(pins, url_template=template)
    assert [f.path for f in files] == ['frames/bad.png', 'frames/gone.png', 'frames/good.png',
                                       'frames/renamed.png', 'notes/SOURCE']
    report = test_data.fetch_test_data(tmp_path, files=files, jobs=2, timeout=5)
    assert sorted(report.fetched) == ['frames/good.png', 'frames/renamed.png', 'notes/SOURCE']
    failed = dict(report.failed)
    assert set(failed) == {'frames/bad.png', 'frames/gone.png'}
    assert 'differs from the pin' in failed['frames/bad.png']
    assert failed['frames/gone.png'].startswith('HTTP 404')
    assert (tmp_path / 'frames/good.png').read_bytes() == good
    assert (tmp_path / 'frames/renamed.png').read_bytes() == good
    assert (tmp_path / 'notes/SOURCE').read_text() == 'o/r@c0ffee\n'
    assert not (tmp_path / 'frames/bad.png').exists()  # a wrong file is never written
    assert not list(tmp_path.rglob('.*part*'))  # no temporary file left
    assert test_data.check_test_data(tmp_path, files) == [('frames/bad.png', 'missing'),
                                                          ('frames/gone.png', 'missing')]
    # a second run downloads nothing that is already there
    before = len(server.requests)
    again = test_data.fetch_test_data(tmp_path, files=files, jobs=2, timeout=5)
    assert sorted(again.present) == sorted(report.fetched)
    assert len(server.requests) - before == 2  # only the two that failed, asked again
    # a file changed on disk is noticed and fetched again
    (tmp_path / 'frames/good.png').write_bytes(b'edited')
    assert ('frames/good.png', 'sha256 differs from the pin') in \
        test_data.check_test_data(tmp_path, files)
    third = test_data.fetch_test_data(tmp_path, files=files, jobs=1, timeout=5)
    assert third.fetched == ['frames/good.png']


def test_unreachable_server_is_a_failure_not_a_hang(tmp_path):
    pins = _pins({'x.png': ('0' * 64, 'x.png')})
    files = test_data.pinned_files(pins, url_template='http://127.0.0.1:9/{repo}/{commit}/{path}')
    report = test_data.fetch_test_data(tmp_path, files=files[:1], jobs=1, timeout=2)
    assert report.fetched == [] and report.failed[0][0] == 'frames/x.png'
    assert 'cannot download' in report.failed[0][1]


def test_the_pins_name_every_file_the_tests_read():
    files = test_data.pinned_files()
    paths = {f.path for f in files}
    assert len(files) == 2291 and len(paths) == len(files)
    for marker in ('rgbd_real/manifest.json', 'rsa_text/SOURCE_COMMIT',
                   'rgbd_real/7scenes_redkitchen/camera-intrinsics.txt',
                   'rsa_text/data_splits/nyudepthv2_test_files_with_gt.txt'):
        assert marker in paths
    urls = [f.url for f in files if f.url]
    assert all(u.startswith('https://raw.githubusercontent.com/') for u in urls)
    assert ('https://raw.githubusercontent.com/YvanYin/Metric3D/'
            'eb5b6fac0dc155e4e52f576e304fbf11655ff339/data/kitti_demo/rgb/0000000005.png') in urls
    # every frame of the manifest is pinned
    manifest = test_data.load_pins()['local_files']['rgbd_real/manifest.json']
    import json

    for frame in json.loads(manifest)['frames']:
        assert f"rgbd_real/{frame['rgb']}" in paths and f"rgbd_real/{frame['depth']}" in paths


def test_the_project_data_matches_the_pins(rgbd_real):
    """The data the suite reads is exactly what the pins describe (sha256 of every file)."""
    assert test_data.check_test_data(rgbd_real.parent) == []


def test_one_setting_env_then_shared_then_cache(tmp_path):
    repo = tmp_path / 'clone'
    shared = tmp_path / 'shared' / 'data'
    cache = tmp_path / 'cache'
    assert test_data.find_test_data(repo, environ={}, cache=cache) == cache  # nothing yet
    for marker in test_data.MARKERS:
        (shared / marker).parent.mkdir(parents=True, exist_ok=True)
        (shared / marker).write_text('x') if marker.endswith('.json') else \
            (shared / marker).mkdir(exist_ok=True)
    assert test_data.find_test_data(repo, environ={}, cache=cache) == shared
    env = {'TR2M_SHARED_DATA': str(tmp_path / 'old')}  # the old name still works
    assert test_data.find_test_data(repo, environ=env, cache=cache) == tmp_path / 'old'
    env['TR2M_TEST_DATA'] = str(tmp_path / 'new')  # and the new one wins
    assert test_data.find_test_data(repo, environ=env, cache=cache) == tmp_path / 'new'


def _serve_pinned(server, rgbd_real):
    """Put every pinned file on the local server, at its upstream path, from the project's
    copy: a stand-in for the public sources."""
    root = rgbd_real.parent
    pins = test_data.load_pins()
    for folder, entry in pins['folders'].items():
        source = pins['sources'][entry['source']]
        for name, pin in entry['files'].items():
            remote = f"{entry['remote']}/{name}" if isinstance(pin, str) else pin['path']
            server.files[f"/{source['repo']}/{source['commit']}/{remote}"] = \
                (root / folder / name).read_bytes()


@pytest.mark.slow
def test_fetch_everything_then_the_tests_read_the_cache(file_server, rgbd_real, tmp_path):
    """The whole fetch from a stand-in server, then real-data tests run from the fetched cache
    alone (``TR2M_TEST_DATA`` pointed at it, as a machine without ../shared/data finds it)."""
    server, template = file_server
    _serve_pinned(server, rgbd_real)
    cache = tmp_path / 'cache'
    fetch_cli.main(['--dest', str(cache), '--url-template', template, '--jobs', '4'])
    assert test_data.check_test_data(cache) == []
    fetch_cli.main(['--dest', str(cache), '--check'])
    with pytest.raises(DataError, match='missing or different'):
        fetch_cli.main(['--dest', str(tmp_path / 'empty'), '--check'])
    env = dict(__import__('os').environ, TR2M_TEST_DATA=str(cache))
    env.pop('TR2M_SHARED_DATA', None)
    tests = ['tests/test_datasets/test_manifest_dataset.py',
             'tests/test_captioners/test_object_grammar.py',
             'tests/test_utils/test_test_data.py::test_the_project_data_matches_the_pins']
    out = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                          *tests], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert ' passed' in out.stdout and 'skipped' not in out.stdout
