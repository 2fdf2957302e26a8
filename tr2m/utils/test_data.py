"""The real test data: where the tests find it, and fetching it from its public sources.

The tests read 59 real RGB-D frames (``rgbd_real/``) and RSA's caption and split files
(``rsa_text/``). :func:`find_test_data` says where they are, from ONE setting:

1. the environment variable ``TR2M_TEST_DATA`` (``TR2M_SHARED_DATA`` is an alias), else
2. ``../shared/data`` beside the clone, else
3. the cache :func:`fetch_test_data` fills (``~/.cache/tr2m/test_data``, or
   ``$TR2M_TEST_DATA_CACHE``; ``$XDG_CACHE_HOME`` is honoured).

Every file is pinned by sha256 in ``tr2m/utils/test_data_files/pins.json``: a plain file of a
public git repository at a pinned commit (RSA, tsdf-fusion-python for 7-Scenes, Metric3D's NYUv2
and KITTI demo frames, Open3D's RGB-D test formats), fetched from its raw-file URL, or a small
file written for this project (the frame manifest, source notes) that the pin file carries.
A download lands in a temporary file, is checked against its sha256, then moved into place, so
the cache never holds a wrong or torn file.
"""
import hashlib
import json
import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

#: The setting the tests read first (``TR2M_SHARED_DATA`` is kept as an alias).
ENV_VAR = 'TR2M_TEST_DATA'
ENV_ALIASES = ('TR2M_SHARED_DATA',)
#: Overrides the cache folder.
CACHE_ENV_VAR = 'TR2M_TEST_DATA_CACHE'
PINS_FILE = Path(__file__).resolve().parent / 'test_data_files' / 'pins.json'
#: What a complete test-data folder holds (checked by :func:`is_test_data`).
MARKERS = ('rgbd_real/manifest.json', 'rsa_text/text/text_all', 'rsa_text/data_splits')


class PinnedFile(NamedTuple):
    """One test file.

    Attributes:
        path (str): where it lies in the test-data folder (``rgbd_real/...``).
        sha256 (str): its hex digest.
        url (str or None): where it is fetched from; None for a file the pin file carries.
        text (str or None): the content of a file the pin file carries.
    """

    path: str
    sha256: str
    url: Optional[str]
    text: Optional[str]


class FetchReport(NamedTuple):
    """What :func:`fetch_test_data` did: paths ``fetched`` (downloaded or written),
    ``present`` (already there with the right sha256) and ``failed`` (``(path, reason)``)."""

    fetched: List[str]
    present: List[str]
    failed: List[tuple]


def default_cache() -> Path:
    """``$TR2M_TEST_DATA_CACHE``, else ``$XDG_CACHE_HOME/tr2m/test_data`` (``~/.cache``)."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    base = os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache'
    return Path(base).expanduser() / 'tr2m' / 'test_data'


def is_test_data(root: Path) -> bool:
    """Whether ``root`` holds the frame manifest and RSA's captions and splits."""
    return all((Path(root) / m).exists() for m in MARKERS)


def find_test_data(repo_root: Path, environ: Optional[Dict[str, str]] = None,
                   cache: Optional[Path] = None) -> Path:
    """The test-data folder: the environment setting, else ``<repo>/../shared/data``, else the
    cache (see the module docstring).

    A folder named by the environment is returned even when it is incomplete (the tests then
    say what is missing there); the other two are taken only when complete.

    Args:
        repo_root (Path): the clone (its parent holds ``shared/data`` where the project's
            machines keep it).
        environ (dict, optional): the environment. Defaults to ``os.environ``.
        cache (Path, optional): the cache folder. Defaults to :func:`default_cache`.

    Returns:
        Path: the folder; the cache when no candidate is complete (it may not exist yet).
    """
    environ = os.environ if environ is None else environ
    for name in (ENV_VAR,) + ENV_ALIASES:
        if environ.get(name):
            return Path(environ[name]).expanduser()
    shared = Path(repo_root).resolve().parent / 'shared' / 'data'
    if is_test_data(shared):
        return shared
    return Path(cache) if cache is not None else default_cache()


def load_pins(path: Optional[Path] = None) -> dict:
    """The pin file (``tr2m/utils/test_data_files/pins.json`` unless ``path``)."""
    return json.loads(Path(path or PINS_FILE).read_text())


def pinned_files(pins: Optional[dict] = None,
                 url_template: Optional[str] = None) -> List[PinnedFile]:
    """Every test file with its sha256 and URL (``url_template`` replaces the pin file's, e.g.
    a local mirror: ``http://127.0.0.1:8000/{repo}/{commit}/{path}``)."""
    pins = load_pins() if pins is None else pins
    template = url_template or pins['url_template']
    files = []
    for folder, entry in pins['folders'].items():
        source = pins['sources'][entry['source']]
        for name, pin in entry['files'].items():
            if isinstance(pin, str):
                remote, digest = f"{entry['remote']}/{name}", pin
            else:
                remote, digest = pin['path'], pin['sha256']
            url = template.format(repo=source['repo'], commit=source['commit'], path=remote)
            files.append(PinnedFile(f'{folder}/{name}', digest, url, None))
    for path, text in pins.get('local_files', {}).items():
        digest = hashlib.sha256(text.encode()).hexdigest()
        files.append(PinnedFile(path, digest, None, text))
    return sorted(files)


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def check_test_data(root: Path, files: Optional[Sequence[PinnedFile]] = None) -> List[tuple]:
    """``[(path, reason)]`` of the pinned files missing from ``root`` or with another sha256."""
    problems = []
    for pin in pinned_files() if files is None else files:
        target = Path(root) / pin.path
        if not target.is_file():
            problems.append((pin.path, 'missing'))
        elif sha256_of(target) != pin.sha256:
            problems.append((pin.path, 'sha256 differs from the pin'))
    return problems


def _download(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (pinned URLs)
        return response.read()


def _fetch_one(pin: PinnedFile, root: Path, timeout: float) -> tuple:
    """``('present' | 'fetched' | 'failed', path, reason)`` for one file."""
    target = root / pin.path
    if target.is_file() and sha256_of(target) == pin.sha256:
        return 'present', pin.path, ''
    try:
        data = pin.text.encode() if pin.url is None else _download(pin.url, timeout)
    except urllib.error.HTTPError as err:
        return 'failed', pin.path, f'HTTP {err.code} from {pin.url}'
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, 'reason', err)
        return 'failed', pin.path, f'cannot download {pin.url}: {reason}'
    got = hashlib.sha256(data).hexdigest()
    if got != pin.sha256:
        return 'failed', pin.path, (f'sha256 {got[:12]}... of {pin.url} differs from the pin '
                                    f'{pin.sha256[:12]}... (file not written)')
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f'.{target.name}.part{os.getpid()}')
    tmp.write_bytes(data)
    os.replace(tmp, target)  # atomic: the cache never holds a torn file
    return 'fetched', pin.path, ''


def fetch_test_data(root: Optional[Path] = None, url_template: Optional[str] = None,
                    files: Optional[Sequence[PinnedFile]] = None, jobs: int = 8,
                    timeout: float = 30.0) -> FetchReport:
    """Download every pinned file that ``root`` lacks (or holds with another sha256).

    Args:
        root (Path, optional): the folder to fill. Defaults to :func:`default_cache`.
        url_template (str, optional): replaces the pin file's URL template (a mirror).
        files (sequence of PinnedFile, optional): the files. Defaults to
            :func:`pinned_files`.
        jobs (int): downloads at once. Defaults to 8.
        timeout (float): seconds per download before it counts as failed. Defaults to 30.

    Returns:
        FetchReport: what was fetched, already present, or failed (and why). A failed file is
        never written.
    """
    root = Path(root) if root is not None else default_cache()
    files = pinned_files(url_template=url_template) if files is None else files
    root.mkdir(parents=True, exist_ok=True)
    report = FetchReport([], [], [])
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for status, path, reason in pool.map(lambda p: _fetch_one(p, root, timeout), files):
            if status == 'failed':
                report.failed.append((path, reason))
            else:
                getattr(report, status).append(path)
    return report


__all__ = ['ENV_VAR', 'ENV_ALIASES', 'CACHE_ENV_VAR', 'PINS_FILE', 'PinnedFile', 'FetchReport',
           'default_cache', 'is_test_data', 'find_test_data', 'load_pins', 'pinned_files',
           'sha256_of', 'check_test_data', 'fetch_test_data']
