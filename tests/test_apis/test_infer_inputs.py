"""Inputs of tools/infer.py: captions matched by name (JSON or image<TAB>caption), images
decoded before anything is built."""
import json

import cv2
import numpy as np
import pytest

from tr2m.apis.infer_inputs import (
    check_images,
    collect_images,
    image_keys,
    match_captions,
    read_caption_table,
)
from tr2m.utils.errors import ArgumentError, DataError, MissingFileError


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / 'imgs'
    (root / 'cam1').mkdir(parents=True)
    img = np.full((4, 6, 3), 128, np.uint8)
    for rel in ('a.png', 'b.jpg'):
        cv2.imwrite(str(root / rel), img)
    cv2.imwrite(str(root / 'cam1' / 'c.png'), img)
    (root / 'notes.txt').write_text('x')
    return root


def test_collect_and_keys(folder):
    images = collect_images(str(folder))
    assert [p.rsplit('/', 1)[1] for p in images] == ['a.png', 'b.jpg']  # not recursive
    assert image_keys(str(folder / 'a.png'), str(folder)) == ['a.png']
    assert image_keys(str(folder / 'cam1' / 'c.png'), str(folder)) == ['c.png', 'cam1/c.png']
    with pytest.raises(MissingFileError, match='no file matches'):
        collect_images(str(folder / '*.tif'))


def test_caption_tables(tmp_path):
    tsv = tmp_path / 'c.tsv'
    tsv.write_text('# comment\n./cam1/c.png\tA desk.\n\na.png\t  A lamp.  \n')
    assert read_caption_table(str(tsv)) == {'cam1/c.png': 'A desk.', 'a.png': 'A lamp.'}
    js = tmp_path / 'c.json'
    js.write_text(json.dumps({'a.png': ['', 'second'], 'b.jpg': 'B'}))
    assert read_caption_table(str(js)) == {'a.png': 'second', 'b.jpg': 'B'}
    js.write_text('[1, 2]')
    with pytest.raises(DataError, match='must hold a JSON object'):
        read_caption_table(str(js))
    js.write_text(json.dumps({'a.png': 3}))
    with pytest.raises(DataError, match="caption of 'a.png' is not a string"):
        read_caption_table(str(js))
    with pytest.raises(MissingFileError, match='caption file not found'):
        read_caption_table(str(tmp_path / 'none.tsv'))


def test_match_by_name_never_by_order(folder, tmp_path):
    images = [str(folder / 'b.jpg'), str(folder / 'cam1' / 'c.png')]
    tsv = tmp_path / 'c.tsv'
    tsv.write_text('cam1/c.png\tC\nb.jpg\tB\n')  # any order
    assert match_captions(images, str(folder), None, str(tsv)) == ['B', 'C']
    with pytest.raises(ArgumentError, match='exactly one of --text and --text-file'):
        match_captions(images, str(folder), None, None)


def test_images_are_decoded_up_front(folder, tmp_path):
    assert check_images([str(folder / 'a.png')]) == [(4, 6)]
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'')
    with pytest.raises(DataError, match='cannot decode image .*bad.jpg'):
        check_images([str(folder / 'a.png'), str(bad)])
    with pytest.raises(ArgumentError, match=r"same name stem .*\['a'\]"):
        check_images([str(folder / 'a.png'), str(tmp_path / 'a.jpg')])


def test_per_image_intrinsics_from_a_table_lines_or_a_manifest(tmp_path):
    import json

    from tr2m.apis.infer_inputs import match_intrinsics, read_intrinsics_table

    imgs = tmp_path / 'imgs'
    (imgs / 'kitti').mkdir(parents=True)
    paths = [str(imgs / 'nyu.png'), str(imgs / 'kitti' / 'k.png')]
    table = tmp_path / 'k.json'
    table.write_text(json.dumps({'nyu.png': [518.9, 519.5, 325.6, 253.7],
                                 'kitti/k.png': [721.5, 721.5, 609.6, 172.9]}))
    assert match_intrinsics(paths, str(imgs), str(table)) == [
        [518.9, 519.5, 325.6, 253.7], [721.5, 721.5, 609.6, 172.9]]
    lines = tmp_path / 'k.txt'
    lines.write_text('# image fx fy cx cy\nnyu.png 1 2 3 4\n\nk.png 5 6 7 8\n')
    assert match_intrinsics(paths, str(imgs), str(lines)) == [[1, 2, 3, 4], [5, 6, 7, 8]]
    table.write_text('{"nyu.png": [1, 2, 3, 4]}')
    with pytest.raises(DataError, match='no intrinsics for image .*k.png'):
        match_intrinsics(paths, str(imgs), str(table))
    table.write_text('{"nyu.png": [1, 2, 3, 4], "k.png": [5, 6, 7, 8], "typo.png": [1, 1, 1, 1]}')
    with pytest.raises(DataError, match='not among the 2 given: typo.png'):
        match_intrinsics(paths, str(imgs), str(table))
    table.write_text('{"nyu.png": [0, 2, 3, 4]}')
    with pytest.raises(DataError, match='fx, fy > 0'):
        read_intrinsics_table(str(table))
    lines.write_text('nyu.png 1 2 3\n')
    with pytest.raises(DataError, match=r"k.txt:1: expected 'image fx fy cx cy'"):
        read_intrinsics_table(str(lines))
    # a dataset's metadata: a manifest (frames with rgb and K) covering more frames than given
    manifest = imgs / 'manifest.json'
    manifest.write_text(json.dumps({'frames': [
        dict(rgb='nyu.png', K=[518.9, 519.5, 325.6, 253.7]),
        dict(rgb='kitti/k.png', K=[721.5, 721.5, 609.6, 172.9]),
        dict(rgb='other/sun.png', K=None)]}))
    assert match_intrinsics(paths[::-1], str(tmp_path), str(manifest)) == [
        [721.5, 721.5, 609.6, 172.9], [518.9, 519.5, 325.6, 253.7]]
    assert read_intrinsics_table(str(manifest))[0]['sun.png'] is None
    with pytest.raises(MissingFileError):
        read_intrinsics_table(str(tmp_path / 'nope.json'))


def test_manifest_intrinsics_of_the_real_frames(rgbd_real, rgbd_manifest):
    """The real manifest gives each frame its own K: a KITTI frame never gets NYU's."""
    from tr2m.apis.infer_inputs import match_intrinsics

    frames = [f for f in rgbd_manifest if f['dataset'] in ('nyu_v2', 'kitti')][::2]
    paths = [str(rgbd_real / f['rgb']) for f in frames]
    found = match_intrinsics(paths, str(rgbd_real), str(rgbd_real / 'manifest.json'))
    assert found == [f['K'] for f in frames]
    assert len({tuple(k) for k in found}) == 2
