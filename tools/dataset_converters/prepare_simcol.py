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
"""
import argparse
import glob
import os
import os.path as osp
from typing import Dict, List

from converter_utils import extract, write_lines

from tr2m.datasets.simcol import SIMCOL_TEST_SEQUENCES


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--src', help='folder with the SyntheticColon_*.zip archives')
    parser.add_argument('--out', default='data/simcol')
    args = parser.parse_args()
    if args.src:
        for archive in sorted(glob.glob(osp.join(args.src, 'SyntheticColon_*.zip'))):
            name = osp.splitext(osp.basename(archive))[0]
            if not osp.isdir(osp.join(args.out, name)):
                extract(archive, args.out)
    splits = write_split_files(args.out)
    print(f"[simcol] {len(splits['train'])} train, {len(splits['test'])} test sequences")


if __name__ == '__main__':
    main()
