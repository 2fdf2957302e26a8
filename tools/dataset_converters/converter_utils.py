"""Shared helpers of the dataset preparation scripts (download, extract, link, write lists).

Only :func:`download` touches the network; everything else works on local files, so the
preparation logic is testable offline.
"""
import os
import os.path as osp
import shutil
import sys
import tarfile
import urllib.request
import zipfile
from typing import Iterable, Optional, Sequence


def download(url: str, dst: str, overwrite: bool = False) -> str:
    """Fetch ``url`` to ``dst`` (skipped when it exists); returns ``dst``."""
    if osp.isfile(dst) and not overwrite:
        print(f'[skip] {dst} exists')
        return dst
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = dst + '.part'
    print(f'[download] {url} -> {dst}')
    with urllib.request.urlopen(url) as resp, open(tmp, 'wb') as out:  # noqa: S310
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
    if total:
        sys.stdout.write('\n')
    os.replace(tmp, dst)
    return dst


def extract(archive: str, dst: str, members: Optional[Iterable[str]] = None) -> None:
    """Extract a ``.zip`` / ``.tar(.gz)`` archive (optionally only ``members``) into ``dst``."""
    os.makedirs(dst, exist_ok=True)
    print(f'[extract] {archive} -> {dst}')
    wanted = None if members is None else set(members)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist() if wanted is None else [n for n in zf.namelist()
                                                           if n in wanted]
            for name in names:
                _check_inside(dst, name)
            zf.extractall(dst, names)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            infos = [m for m in tf.getmembers() if wanted is None or m.name in wanted]
            for info in infos:
                _check_inside(dst, info.name)
            tf.extractall(dst, infos)  # noqa: S202 - paths checked above
    else:
        raise ValueError(f'not a zip or tar archive: {archive}')


def _check_inside(root: str, name: str) -> None:
    target = osp.realpath(osp.join(root, name))
    if not target.startswith(osp.realpath(root) + os.sep) and target != osp.realpath(root):
        raise ValueError(f'archive member escapes the target folder: {name}')


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
