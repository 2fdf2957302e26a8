"""Prepare VOID-1500 (Wong et al., "Unsupervised Depth Completion from Visual Inertial
Odometry", RA-L 2020).

Source: https://github.com/alexklwong/void-dataset -- the release archive ``void_1500.zip``
(Google Drive; the repository's ``bash/setup_dataset_void.sh`` downloads it). It holds
``void_1500/data/<sequence>/{image,ground_truth,sparse_depth,validity_map,absolute_pose}/`` with
``K.txt`` per sequence and the path lists ``void_1500/{train,test}_{image,ground_truth,
intrinsics,...}.txt`` (test: 800 frames). RSA's ``data_splits/void/`` hold the same test lists;
they are used when the release's lists are missing.

Result (``data/void``)::

    void_1500/data/<sequence>/image/<timestamp>.png, ground_truth/<timestamp>.png, K.txt
    void_1500/test_image.txt, test_ground_truth.txt, test_intrinsics.txt, (train_*.txt)

Usage::

    python tools/dataset_converters/prepare_void.py --zip void_1500.zip --out data/void
        [--splits-from data/rsa_text/data_splits/void]
"""
import argparse
import os
import os.path as osp
import shutil

from converter_utils import extract, missing_files, read_lines, report_missing

LIST_KINDS = ('image', 'ground_truth', 'intrinsics')


def find_void_1500(root: str) -> str:
    """The ``void_1500`` folder inside an extracted release (any depth up to 3)."""
    for depth_root, dirs, _ in os.walk(root):
        if 'void_1500' in dirs:
            return osp.join(depth_root, 'void_1500')
        if depth_root[len(root):].count(os.sep) >= 3:
            dirs[:] = []
    raise FileNotFoundError(f'no void_1500 folder under {root}')


def install_lists(out: str, splits_from: str) -> None:
    """Copy missing ``<split>_<kind>.txt`` lists from ``splits_from`` into ``out/void_1500``."""
    for split in ('train', 'test'):
        for kind in LIST_KINDS:
            name = f'{split}_{kind}.txt'
            dst = osp.join(out, 'void_1500', name)
            if not osp.isfile(dst) and osp.isfile(osp.join(splits_from, name)):
                shutil.copy2(osp.join(splits_from, name), dst)


def check_layout(out: str, split: str = 'test') -> bool:
    """Check that the files of ``<split>_{image,ground_truth,intrinsics}.txt`` exist."""
    ok = True
    for kind in LIST_KINDS:
        path = osp.join(out, 'void_1500', f'{split}_{kind}.txt')
        if not osp.isfile(path):
            print(f'[check] {path} missing')
            ok = False
            continue
        rels = read_lines(path)
        ok &= report_missing(osp.basename(path), missing_files(out, rels), len(rels))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--zip', help='void_1500.zip from the release')
    parser.add_argument('--out', default='data/void')
    parser.add_argument('--splits-from', help="RSA's data_splits/void")
    args = parser.parse_args()
    if args.zip and not osp.isdir(osp.join(args.out, 'void_1500')):
        tmp = osp.join(args.out, '_extract')
        extract(args.zip, tmp)
        shutil.move(find_void_1500(tmp), osp.join(args.out, 'void_1500'))
        shutil.rmtree(tmp)
    if args.splits_from:
        install_lists(args.out, args.splits_from)
    check_layout(args.out, 'test')


if __name__ == '__main__':
    main()
