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
        [--splits-from data/rsa_text/data_splits/void] [--captions-from RSA_CHECKOUT_OR_ZIP]

Local sources: ``--zip`` (the release archive) or ``--src`` (it extracted), ``--splits-from``
(the path lists), ``--captions-from`` (RSA's captions). The release is on Google Drive and
cannot be fetched by a script: without ``--zip``/``--src`` the script says where to get it.
"""
import argparse
import os
import os.path as osp
import shutil

from converter_utils import (
    MissingFileError,
    add_source_args,
    extract,
    install_rsa_captions,
    link_or_copy,
    missing_files,
    read_lines,
    report_missing,
    run,
)

RELEASE_URL = 'https://github.com/alexklwong/void-dataset'

LIST_KINDS = ('image', 'ground_truth', 'intrinsics')


def find_void_1500(root: str) -> str:
    """The ``void_1500`` folder inside an extracted release (any depth up to 3)."""
    for depth_root, dirs, _ in os.walk(root):
        if 'void_1500' in dirs:
            return osp.join(depth_root, 'void_1500')
        if depth_root[len(root):].count(os.sep) >= 3:
            dirs[:] = []
    raise MissingFileError(f'no void_1500 folder under {root}')


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


def main(argv=None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--zip', help='void_1500.zip from the release')
    parser.add_argument('--src', help='the release extracted (a folder holding void_1500/)')
    parser.add_argument('--out', default='data/void')
    parser.add_argument('--captions-out', default='data/rsa_text')
    add_source_args(parser, splits="folder with the path lists (RSA's data_splits/void)",
                    captions="RSA's captions: checkout, archive or text_all folder")
    args = parser.parse_args(argv)
    target = osp.join(args.out, 'void_1500')
    if not osp.isdir(target):
        if args.zip:
            tmp = osp.join(args.out, '_extract')
            extract(args.zip, tmp)
            shutil.move(find_void_1500(tmp), target)
            shutil.rmtree(tmp)
        elif args.src:
            link_or_copy(find_void_1500(args.src), target)
        else:
            raise MissingFileError(f'{target} missing: download void_1500.zip (Google Drive, '
                                   f'see {RELEASE_URL}, bash/setup_dataset_void.sh) and pass '
                                   '--zip void_1500.zip (or --src its extracted folder)')
    if args.splits_from:
        if not osp.isdir(args.splits_from):
            raise MissingFileError(f'--splits-from {args.splits_from} is not a folder')
        install_lists(args.out, args.splits_from)
    if args.captions_from:
        install_rsa_captions(args.captions_from, args.captions_out, 'void')
    return check_layout(args.out, 'test')


if __name__ == '__main__':
    run(main)
