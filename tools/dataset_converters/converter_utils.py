"""Shared helpers of the dataset preparation scripts (download, extract, link, write lists,
install local split lists and captions).

Only :func:`download` touches the network, and only for a file that is not already where it
would go: put a file you downloaded elsewhere at the path the offline message names (or pass
the script's option for it) and the script uses it. Offline -- or with ``TR2M_OFFLINE=1``,
which forbids every download -- a missing file ends in ONE line naming the URL and the place
to put the file (exit code 2), never in a network traceback. Everything else works on local
files, so the preparation logic is testable offline.

Every dataset's ``prepare_*.py`` takes local sources instead of downloads: ``--splits-from`` (a
folder with the split lists; nothing is downloaded then, a list missing there is an error),
``--captions-from`` (a caption folder, a JSON file, or an archive of either) and the dataset's
archives or extracted folders; ``prepare_rsa_text.py`` takes ``--checkout`` / ``--archive``.
"""
import http.client
import json
import os
import os.path as osp
import shutil
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from typing import Callable, Iterable, List, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)  # ``import tr2m`` from this clone when run as a script

from tr2m.datasets.captions import read_json_object  # noqa: E402
from tr2m.utils import cli  # noqa: E402
from tr2m.utils.archive import safe_extract  # noqa: E402
from tr2m.utils.errors import DataError, MissingFileError, UserError  # noqa: E402

#: Environment variable that forbids every download (tests, air-gapped machines).
OFFLINE_ENV = 'TR2M_OFFLINE'
#: Archive suffixes :func:`extract` reads.
ARCHIVES = ('.zip', '.tar', '.tar.gz', '.tgz', '.tar.bz2', '.tar.xz')


class DownloadError(UserError, OSError):
    """A file could not be downloaded: the message names the URL and where to put the file."""


def _reason(err: BaseException) -> str:
    reason = getattr(err, 'reason', None) or err
    return str(reason).strip() or type(err).__name__


def download(url: str, dst: str, overwrite: bool = False, hint: Optional[str] = None) -> str:
    """Fetch ``url`` to ``dst`` (skipped when ``dst`` exists); returns ``dst``.

    Args:
        url (str): what to fetch.
        dst (str): where the file goes; a file already there is used as it is.
        overwrite (bool): download even if ``dst`` exists. Defaults to False.
        hint (str, optional): another way to provide the file (e.g. ``'--sync-zip FILE'``),
            named in the error.

    Raises:
        DownloadError: offline, forbidden (``TR2M_OFFLINE=1``) or failed; one line with the
            URL and ``dst``.
    """
    if osp.isfile(dst) and not overwrite:
        print(f'[skip] {dst} exists')
        return dst
    where = f'download it and put it at {dst}' + (f' (or pass {hint})' if hint else '')
    if os.environ.get(OFFLINE_ENV, '0') not in ('', '0'):
        raise DownloadError(f'{url} is needed and downloads are off ({OFFLINE_ENV}=1): {where}, '
                            'then rerun')
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = dst + '.part'
    print(f'[download] {url} -> {dst}')
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, 'wb') as out:  # noqa: S310
            total = int(resp.headers.get('Content-Length') or 0)
            done = 0
            while True:
                chunk = resp.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if total:
                    sys.stdout.write(f'\r  {done / total:6.1%} of {total / 2**20:.0f} MiB')
                    sys.stdout.flush()
    except (urllib.error.URLError, http.client.HTTPException, socket.timeout, OSError,
            ValueError) as err:
        if osp.exists(tmp):
            os.remove(tmp)
        raise DownloadError(f'cannot download {url} ({_reason(err)}): {where}, then rerun') \
            from err
    if total:
        sys.stdout.write('\n')
    os.replace(tmp, dst)
    return dst


def is_archive(path: str) -> bool:
    """A file whose name ends with one of :data:`ARCHIVES`."""
    return osp.isfile(path) and path.lower().endswith(ARCHIVES)


def local_or_extracted(path: str, work: str) -> str:
    """A folder holding ``path``'s contents: ``path`` itself if it is a folder, else the
    archive extracted into ``work``.

    Raises:
        MissingFileError: ``path`` does not exist.
        DataError: it is neither a folder nor an archive.
    """
    if osp.isdir(path):
        return path
    if not osp.exists(path):
        raise MissingFileError(f'not found: {path}')
    if not is_archive(path):
        raise DataError(f'{path} is neither a folder nor an archive ({", ".join(ARCHIVES)})')
    extract(path, work)
    return work


def install_split_lists(names: Sequence[str], dst_dir: str, splits_from: Optional[str] = None,
                        url_template: Optional[str] = None) -> List[str]:
    """Put the split lists ``names`` into ``dst_dir``: copied from ``splits_from`` (a folder;
    then nothing is downloaded and a list missing there is an error), else downloaded from
    ``url_template.format(name=...)``; lists already in ``dst_dir`` are kept.

    Raises:
        MissingFileError: a list is not in ``splits_from`` (or, without a URL, anywhere).
        DownloadError: a download failed.
    """
    os.makedirs(dst_dir, exist_ok=True)
    out = []
    for name in names:
        dst = osp.join(dst_dir, name)
        out.append(dst)
        if osp.isfile(dst):
            continue
        if splits_from is not None:
            src = osp.join(splits_from, name)
            if not osp.isfile(src):
                raise MissingFileError(f'split list {name} is not in --splits-from '
                                       f'{splits_from} (expected {src})')
            shutil.copy2(src, dst)
            print(f'[copy] {src} -> {dst}')
        elif url_template is not None:
            download(url_template.format(name=name), dst, hint='--splits-from DIR')
        else:
            raise MissingFileError(f'split list {dst} missing; pass --splits-from DIR')
    return out


def find_caption_tree(root: str, dataset: str) -> str:
    """The RSA ``text_all`` folder under ``root`` that holds ``<dataset>/`` (``root`` may be an
    RSA checkout, an extracted archive, ``text_all`` itself or ``text_all/<dataset>``).

    Raises:
        MissingFileError: none found.
    """
    candidates = [root, osp.join(root, 'text_all'), osp.join(root, 'text', 'text_all'),
                  osp.join(root, 'DPT_LanScale', 'text', 'text_all')]
    if osp.isdir(root):
        for name in sorted(os.listdir(root)):  # archive: RSA-<commit>/DPT_LanScale/...
            candidates.append(osp.join(root, name, 'DPT_LanScale', 'text', 'text_all'))
    for cand in candidates:
        if osp.isdir(osp.join(cand, dataset)):
            return cand
    if osp.basename(osp.normpath(root)) == dataset:
        return osp.dirname(osp.normpath(root))
    raise MissingFileError(f'no RSA caption folder for {dataset!r} under {root} (expected '
                           f'.../text/text_all/{dataset}/<split>/...txt)')


def install_rsa_captions(src: str, out: str, dataset: str) -> str:
    """Copy RSA's ``text_all/<dataset>`` from ``src`` (folder or archive) to
    ``<out>/text/text_all/<dataset>`` (kept if present); returns the destination."""
    dst = osp.join(out, 'text', 'text_all', dataset)
    if osp.isdir(dst):
        print(f'[skip] {dst} exists')
        return dst
    with tempfile.TemporaryDirectory() as tmp:
        tree = find_caption_tree(local_or_extracted(src, tmp), dataset)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        shutil.copytree(osp.join(tree, dataset), dst)
    n = sum(len([f for f in fs if f.endswith('.txt')]) for _, _, fs in os.walk(dst))
    print(f'[captions] {dst}: {n} files')
    return dst


def install_json_captions(src: str, dst: str, images: Optional[Sequence[str]] = None,
                          ext: str = '.jpg') -> str:
    """Write ``dst`` (``{image: [captions]}``) from ``src``: a JSON file (checked and copied),
    a folder of per-image ``.txt`` files (RSA's layout) or an archive of either."""
    from captions_to_json import txt_tree_to_dict

    if osp.isfile(src) and src.lower().endswith('.json'):
        table = read_json_object(src, 'an object {image: [captions]}')
    else:
        with tempfile.TemporaryDirectory() as tmp:
            table = txt_tree_to_dict(local_or_extracted(src, tmp), images, ext)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    with open(dst, 'w', encoding='utf-8') as f:
        json.dump(table, f, indent=1, ensure_ascii=False)
    print(f'[captions] {dst} ({len(table)} images)')
    return dst


def add_source_args(parser, splits: Optional[str] = 'folder with the split lists (nothing is '
                    'downloaded then)', captions: Optional[str] = 'caption folder, JSON or '
                    'archive') -> None:
    """``--splits-from`` and ``--captions-from`` (None leaves one out; the text is its help),
    and ``--debug`` (handled by :func:`run`)."""
    if splits:
        parser.add_argument('--splits-from', metavar='DIR', help=splits)
    if captions:
        parser.add_argument('--captions-from', metavar='PATH', help=captions)
    cli.add_debug_argument(parser)


def run(main: Callable) -> None:
    """Run a converter's ``main(argv)`` through :func:`tr2m.utils.cli.run` (one line and exit
    code 2 for a missing file, a failed download or a bad argument)."""
    cli.run(main)


def extract(archive: str, dst: str, members: Optional[Iterable[str]] = None) -> None:
    """Extract a ``.zip`` / ``.tar(.gz)`` archive (optionally only ``members``) into ``dst``:
    :func:`tr2m.utils.archive.safe_extract`, which refuses links, device files and any member
    resolving outside ``dst`` in one line (exit code 2) before writing anything."""
    print(f'[extract] {archive} -> {dst}')
    safe_extract(archive, dst, members)


def link_or_copy(src: str, dst: str, copy: bool = False) -> None:
    """Symlink ``src`` at ``dst`` (or copy it); existing ``dst`` is left alone."""
    if osp.lexists(dst):
        return
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    if copy:
        (shutil.copytree if osp.isdir(src) else shutil.copy2)(src, dst)
    else:
        os.symlink(osp.abspath(src), dst)


def write_lines(path: str, lines: Sequence[str]) -> str:
    """Write one item per line (creating folders); returns ``path``."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(f'{line}\n' for line in lines)
    print(f'[write] {path} ({len(lines)} lines)')
    return path


def read_lines(path: str) -> list:
    """Non-empty, stripped lines of a text file."""
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def missing_files(root: str, rel_paths: Iterable[str]) -> list:
    """The paths (relative to ``root``) that do not exist."""
    return [p for p in rel_paths if not osp.exists(osp.join(root, p))]


def report_missing(name: str, missing: Sequence[str], total: int) -> bool:
    """Print a summary of a layout check; True when nothing is missing."""
    if missing:
        print(f'[check] {name}: {len(missing)} of {total} files missing, e.g. {missing[:3]}')
        return False
    print(f'[check] {name}: all {total} files present')
    return True
