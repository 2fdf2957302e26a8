"""Prepare C3VD (Bobrow et al., "Colonoscopy 3D Video Dataset with Paired Depth from 2D-3D
Registration", Medical Image Analysis 2023).

Source: https://durrlab.github.io/C3VD/ -- one archive per registered sequence (e.g.
``cecum_t1_a.zip``) holding ``NNNN_color.png`` (1350 x 1080), ``NNNN_depth.tiff`` (uint16,
0..65535 = 0..100 mm), normals, occlusion, flow and ``pose.txt``. Download the sequences from
the project page (the links change), put the archives or extracted folders in one folder, then
run this script: it lays the sequences out under ``--out`` and writes sequence-level splits.

The paper does not publish its C3VD split; tr2m's default test sequences are
:data:`DEFAULT_TEST_SEQUENCES` (one or two per colon segment, about 20% of the frames); choose
others with ``--test-sequences``.

Result (``data/c3vd``)::

    <sequence>/NNNN_color.png, NNNN_depth.tiff
    splits/c3vd_train.txt, splits/c3vd_test.txt        # <sequence>/NNNN_color.png per line

Usage::

    python tools/dataset_converters/prepare_c3vd.py --src downloads/c3vd --out data/c3vd
        [--splits-from DIR] [--captions-from captions.json]

``--src`` holds the sequence archives (``*.zip``) or extracted folders (C3VD's links change and
need a browser; nothing is downloaded). ``--splits-from DIR`` copies your own
``c3vd_train.txt`` / ``c3vd_test.txt`` instead of writing the default sequence split;
``--captions-from`` writes ``<out>/captions.json`` from a JSON file or a caption folder (use it
with ``JSONCaptionSource``; the configs' default is the template caption).
"""
import argparse
import glob
import os
import os.path as osp
import re
from typing import Dict, List, Sequence

from converter_utils import (
    DataError,
    MissingFileError,
    add_source_args,
    extract,
    install_json_captions,
    install_split_lists,
    link_or_copy,
    run,
    write_lines,
)

PROJECT_URL = 'https://durrlab.github.io/C3VD/'

#: All registered C3VD sequences (22).
C3VD_SEQUENCES = (
    'cecum_t1_a', 'cecum_t1_b', 'cecum_t2_a', 'cecum_t2_b', 'cecum_t2_c', 'cecum_t3_a',
    'cecum_t4_a', 'cecum_t4_b', 'desc_t4_a', 'sigmoid_t1_a', 'sigmoid_t2_a', 'sigmoid_t3_a',
    'sigmoid_t3_b', 'trans_t1_a', 'trans_t1_b', 'trans_t2_a', 'trans_t2_b', 'trans_t2_c',
    'trans_t3_a', 'trans_t3_b', 'trans_t4_a', 'trans_t4_b')
#: tr2m's default held-out sequences (not the paper's, which is unpublished).
DEFAULT_TEST_SEQUENCES = ('cecum_t1_b', 'cecum_t4_b', 'sigmoid_t3_b', 'trans_t2_c',
                          'trans_t4_b')
_NAME = re.compile(r'(cecum|sigmoid|trans|desc)_t\d+_[a-z]')


def sequence_name(folder: str) -> str:
    """Canonical sequence name of a release folder (``cecum_t1_a_under_review`` -> cecum_t1_a)."""
    match = _NAME.search(osp.basename(folder.rstrip('/')))
    if match is None:
        raise DataError(f'not a C3VD sequence folder: {folder}')
    return match.group(0)


def collect_sequences(src: str, out: str, copy: bool = False) -> Dict[str, int]:
    """Extract archives in ``src`` and link every sequence folder (with ``*_color.png``) to
    ``out/<sequence>``; returns frames per sequence."""
    for archive in sorted(glob.glob(osp.join(src, '*.zip'))):
        target = osp.join(src, osp.splitext(osp.basename(archive))[0])
        if not osp.isdir(target):
            extract(archive, target)
    frames = {}
    for root, _, files in os.walk(src):
        n = len([f for f in files if f.endswith('_color.png')])
        if n:
            name = sequence_name(root)
            link_or_copy(root, osp.join(out, name), copy=copy)
            frames[name] = n
    if not frames:
        raise MissingFileError(f'no *_color.png under {src}: download the registered '
                               f'sequences from {PROJECT_URL} into it')
    return frames


def write_splits(out: str, test_sequences: Sequence[str]) -> Dict[str, List[str]]:
    """Write ``splits/c3vd_{train,test}.txt`` from the sequences present in ``out``."""
    present = sorted(d for d in os.listdir(out) if _NAME.fullmatch(d))
    unknown = set(test_sequences) - set(present)
    if unknown:
        raise DataError(f'test sequences not present in {out}: {sorted(unknown)}')
    splits = dict(train=[], test=[])
    for seq in present:
        names = sorted(glob.glob1(osp.join(out, seq), '*_color.png'))
        splits['test' if seq in test_sequences else 'train'] += [f'{seq}/{n}' for n in names]
    for split, lines in splits.items():
        write_lines(osp.join(out, 'splits', f'c3vd_{split}.txt'), lines)
    return splits


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--src', required=True, help='folder with the downloaded sequences '
                        f'(archives or folders, from {PROJECT_URL})')
    parser.add_argument('--out', default='data/c3vd')
    parser.add_argument('--test-sequences', nargs='+', default=list(DEFAULT_TEST_SEQUENCES))
    parser.add_argument('--copy', action='store_true', help='copy instead of symlinking')
    add_source_args(parser, splits='folder with c3vd_train.txt and c3vd_test.txt',
                    captions='captions: JSON {image: [captions]} or a caption folder')
    args = parser.parse_args(argv)
    if not osp.isdir(args.src):
        raise MissingFileError(f'--src {args.src} is not a folder (download the sequences from '
                               f'{PROJECT_URL} into it)')
    frames = collect_sequences(args.src, args.out, copy=args.copy)
    print(f'[c3vd] {len(frames)} sequences, {sum(frames.values())} frames')
    if args.splits_from:
        install_split_lists(('c3vd_train.txt', 'c3vd_test.txt'), osp.join(args.out, 'splits'),
                            args.splits_from)
    else:
        write_splits(args.out, args.test_sequences)
    if args.captions_from:
        install_json_captions(args.captions_from, osp.join(args.out, 'captions.json'),
                              ext='.png')
    return frames


if __name__ == '__main__':
    run(main)
