"""tr2m/utils/archive.py: crafted tar and zip archives (symlink then a file through it, hard
link, device, FIFO, ``..``, absolute and backslash names, a link already in the output folder)
are refused in one line before anything is written; a plain archive extracts exactly."""
import io
import os
import stat
import tarfile
import zipfile

import pytest

from tr2m.utils.archive import UnsafeArchiveError, safe_extract
from tr2m.utils.errors import DataError


def _tar(path, members):
    """``members``: (name, kind, payload) with kind file / dir / sym / hard / chr / blk / fifo."""
    types = dict(sym=tarfile.SYMTYPE, hard=tarfile.LNKTYPE, chr=tarfile.CHRTYPE,
                 blk=tarfile.BLKTYPE, fifo=tarfile.FIFOTYPE, dir=tarfile.DIRTYPE)
    with tarfile.open(path, 'w') as tf:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == 'file':
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
                continue
            info.type = types[kind]
            if kind in ('sym', 'hard'):
                info.linkname = payload
            if kind in ('chr', 'blk'):
                info.devmajor, info.devminor = 1, 3
            tf.addfile(info)
    return str(path)


def _zip(path, members):
    """``members``: (name, unix mode or None, payload)."""
    with zipfile.ZipFile(path, 'w') as zf:
        for name, mode, payload in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.create_system = 3
                info.external_attr = mode << 16
            zf.writestr(info, payload)
    return str(path)


@pytest.fixture
def places(tmp_path):
    """``(out, outside)``: the output folder (not created) and a folder beside it."""
    outside = tmp_path / 'outside'
    outside.mkdir()
    return tmp_path / 'out', outside


def _everything_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob('*')) \
        if folder.exists() else []


def _refused(archive, out, outside, member, why):
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, str(out))
    msg = str(info.value)
    assert '\n' not in msg and msg.startswith(f'archive {archive}: member {member!r} {why}'), msg
    assert _everything_under(outside) == []  # nothing written outside
    assert _everything_under(out) == []  # and nothing inside: the check comes first
    return msg


def test_plain_tar_and_zip_extract_exactly(tmp_path, places):
    out, _ = places
    tar = _tar(tmp_path / 'ok.tar', [('seq', 'dir', None), ('seq/a.txt', 'file', b'alpha'),
                                     ('seq/b/c.bin', 'file', bytes(range(256)))])
    assert safe_extract(tar, str(out)) == ['seq', 'seq/a.txt', 'seq/b/c.bin']
    assert (out / 'seq/a.txt').read_bytes() == b'alpha'
    assert (out / 'seq/b/c.bin').read_bytes() == bytes(range(256))
    zpath = _zip(tmp_path / 'ok.zip', [('z/a.txt', stat.S_IFREG | 0o644, b'zeta'),
                                       ('z/d/', stat.S_IFDIR | 0o755, b''),
                                       ('plain.txt', None, b'no mode')])
    assert safe_extract(zpath, str(out), members=['z/a.txt', 'plain.txt']) == \
        ['z/a.txt', 'plain.txt']
    assert (out / 'z/a.txt').read_bytes() == b'zeta' and (out / 'plain.txt').read_bytes() == \
        b'no mode'
    assert not (out / 'z/d').exists()  # not among the members asked for


def test_tar_symlink_then_a_file_through_it(tmp_path, places):
    out, outside = places
    tar = _tar(tmp_path / 'evil.tar', [('ok.txt', 'file', b'x'),
                                       ('link', 'sym', str(outside)),
                                       ('link/FILE', 'file', b'pwned')])
    _refused(tar, out, outside, 'link', f'is a symbolic link (to {str(outside)!r})')
    # a relative link that stays inside is refused all the same: links are never extracted
    tar = _tar(tmp_path / 'inside.tar', [('a.txt', 'file', b'x'), ('b', 'sym', 'a.txt')])
    _refused(tar, out, outside, 'b', "is a symbolic link (to 'a.txt')")


@pytest.mark.parametrize('kind,why', [('hard', 'is a hard link'), ('chr', 'is a device file'),
                                      ('blk', 'is a device file'), ('fifo', 'is a FIFO')])
def test_tar_links_and_special_files(tmp_path, places, kind, why):
    out, outside = places
    target = str(outside / 'victim.txt')
    tar = _tar(tmp_path / f'{kind}.tar', [('ok.txt', 'file', b'x'), ('m', kind, target)])
    _refused(tar, out, outside, 'm', why)


@pytest.mark.parametrize('name,why', [
    ('../escape.txt', "escapes the output folder (a '..' component)"),
    ('seq/../../escape.txt', "escapes the output folder (a '..' component)"),
    ('ABS', 'escapes the output folder (an absolute path)'),
    ('..\\escape.txt', "escapes the output folder (a '..' component)"),
    ('C:/escape.txt', 'escapes the output folder (an absolute path)')])
@pytest.mark.parametrize('fmt', ['tar', 'zip'])
def test_names_outside_the_output_folder(tmp_path, places, name, why, fmt):
    out, outside = places
    if name == 'ABS':
        name = str(outside / 'escape.txt')
    if fmt == 'tar':
        archive = _tar(tmp_path / 'names.tar', [('ok.txt', 'file', b'x'), (name, 'file', b'e')])
    else:
        archive = _zip(tmp_path / 'names.zip', [('ok.txt', None, b'x'), (name, None, b'e')])
    _refused(archive, out, outside, name, why)
    assert not (tmp_path / 'escape.txt').exists()


@pytest.mark.parametrize('mode,why', [(stat.S_IFLNK | 0o777, 'is a symbolic link'),
                                      (stat.S_IFCHR | 0o600, 'is a device file'),
                                      (stat.S_IFIFO | 0o600, 'is a FIFO or socket')])
def test_zip_links_and_special_files(tmp_path, places, mode, why):
    out, outside = places
    archive = _zip(tmp_path / 'special.zip', [('ok.txt', None, b'x'),
                                              ('m', mode, str(outside).encode())])
    _refused(archive, out, outside, 'm', why)


def test_a_link_already_in_the_output_folder_is_not_followed(tmp_path, places):
    out, outside = places
    out.mkdir()
    os.symlink(outside, out / 'pre')
    tar = _tar(tmp_path / 'through.tar', [('pre/FILE', 'file', b'pwned')])
    with pytest.raises(UnsafeArchiveError, match=r"member 'pre/FILE' escapes the output folder "
                       r'\(it resolves to .*outside/FILE\)'):
        safe_extract(tar, str(out))
    assert _everything_under(outside) == []


def test_not_an_archive(tmp_path):
    (tmp_path / 'x.tar').write_bytes(b'not an archive at all' * 40)
    with pytest.raises(DataError, match='not a zip or tar archive'):
        safe_extract(str(tmp_path / 'x.tar'), str(tmp_path / 'out'))
