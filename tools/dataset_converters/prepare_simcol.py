"""Prepare SimCol3D (Rau et al., "SimCol3D -- 3D Reconstruction during Colonoscopy Challenge",
Medical Image Analysis 2024).

Source: https://rdr.ucl.ac.uk/articles/dataset/Simcol3D_-_3D_Reconstruction_during_Colonoscopy_Challenge_Dataset/24077763
(``SyntheticColon_I.zip``, ``SyntheticColon_II.zip``, ``SyntheticColon_III.zip``). Each colon
holds ``Frames_<seq>/FrameBuffer_NNNN.png`` (475 x 475) and ``Depth_NNNN.png`` (uint16,
0..65535 = 0..20 cm) plus ``cam.txt``. The challenge's test sequences are S5, S10, S15 (colon I),
B5, B10, B15 (colon II) and O1-O3 (colon III); ``misc/{train,test}_file.txt`` list them and are
written when the archives do not bring them.

Result (``data/simcol``)::

    SyntheticColon_{I,II,III}/Frames_*/FrameBuffer_NNNN.png, Depth_NNNN.png
    misc/train_file.txt, misc/test_file.txt

Usage::

    python tools/dataset_converters/prepare_simcol.py --src downloads/simcol --out data/simcol
        [--splits-from DIR] [--captions-from captions.json|caption_folder]

``--src`` holds the ``SyntheticColon_*.zip`` archives or their extracted folders (the UCL page
needs a browser; nothing is downloaded). ``--splits-from DIR`` copies ``train_file.txt`` /
``test_file.txt`` into ``misc/``; ``--captions-from`` writes ``<out>/captions.json`` (for
``JSONCaptionSource``; the configs' default is the template caption).
"""
import argparse
import glob
import os
import os.path as osp
from typing import Dict, List

from converter_utils import (
    MissingFileError,
    add_source_args,
    extract,
    install_json_captions,
    install_split_lists,
    link_or_copy,
    run,
    write_lines,
)

from tr2m.datasets.simcol import SIMCOL_TEST_SEQUENCES

RELEASE_URL = ('https://rdr.ucl.ac.uk/articles/dataset/Simcol3D_-_3D_Reconstruction_during_'
               'Colonoscopy_Challenge_Dataset/24077763')


def sequences_in(root: str) -> List[str]:
    """``SyntheticColon_X/Frames_Y`` folders that hold frames, sorted."""
    found = glob.glob(osp.join(root, 'SyntheticColon_*', 'Frames_*', 'FrameBuffer_*.png'))
    return sorted({osp.relpath(osp.dirname(p), root).replace(os.sep, '/') for p in found})


def write_split_files(root: str, overwrite: bool = False) -> Dict[str, List[str]]:
    """Write ``misc/{train,test}_file.txt`` (test = the challenge's test sequences)."""
    present = sequences_in(root)
    test = [s for s in SIMCOL_TEST_SEQUENCES if s in present]
    train = [s for s in present if s not in SIMCOL_TEST_SEQUENCES]
    splits = dict(train=train, test=test)
    for split, lines in splits.items():
        path = osp.join(root, 'misc', f'{split}_file.txt')
        if overwrite or not osp.isfile(path):
            write_lines(path, lines)
    return splits


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--src', help='folder with the SyntheticColon_*.zip archives or '
                        'extracted SyntheticColon_* folders')
    parser.add_argument('--out', default='data/simcol')
    add_source_args(parser, splits='folder with train_file.txt and test_file.txt',
                    captions='captions: JSON {image: [captions]}, caption folder or archive')
    args = parser.parse_args(argv)
    if args.src:
        if not osp.isdir(args.src):
            raise MissingFileError(f'--src {args.src} is not a folder')
        for archive in sorted(glob.glob(osp.join(args.src, 'SyntheticColon_*.zip'))):
            name = osp.splitext(osp.basename(archive))[0]
            if not osp.isdir(osp.join(args.out, name)):
                extract(archive, args.out)
        for folder in sorted(glob.glob(osp.join(args.src, 'SyntheticColon_*'))):
            if osp.isdir(folder):
                link_or_copy(folder, osp.join(args.out, osp.basename(folder)))
    if not sequences_in(args.out):
        raise MissingFileError(f'no SyntheticColon_*/Frames_* under {args.out}: download '
                               f'SyntheticColon_{{I,II,III}}.zip from {RELEASE_URL} and pass '
                               '--src their folder')
    if args.splits_from:
        install_split_lists(('train_file.txt', 'test_file.txt'), osp.join(args.out, 'misc'),
                            args.splits_from)
    splits = write_split_files(args.out)
    print(f"[simcol] {len(splits['train'])} train, {len(splits['test'])} test sequences")
    if args.captions_from:
        install_json_captions(args.captions_from, osp.join(args.out, 'captions.json'),
                              ext='.png')
    return splits


if __name__ == '__main__':
    run(main)
