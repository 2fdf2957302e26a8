"""Prepare NYU Depth v2 in the BTS layout (train: "sync" set, test: the official 654 images).

Sources:

- Official labelled set and split (Silberman et al. 2012):
  http://horatio.cs.nyu.edu/mit/silberman/nyu_depth_v2/nyu_depth_v2_labeled.mat (2.8 GB) and
  http://horatio.cs.nyu.edu/mit/silberman/indoor_seg_sup/splits.mat (``testNdxs``, 1-based).
  The test images are exported as BTS does: ``official_splits/test/<sceneType>/rgb_%05d.jpg``
  (0-based index, RGB outside rows 7:474 / cols 7:632 set to black) and
  ``sync_depth_%05d.png`` (``rawDepths`` * 1000 as uint16).
- BTS "sync" training set (24,231 frames from the raw videos), Google Drive file
  ``1AysroWpfISmm-yRFb5EsI1cjNhJb7jgh`` (``sync.zip``, see https://github.com/cleinc/bts);
  download it with ``gdown`` (``pip install gdown``) or a browser and pass ``--sync-zip``.
- Split lists (``rgb depth focal``): RSA's ``data_splits`` (prepare_rsa_text.py) or BTS's
  https://raw.githubusercontent.com/cleinc/bts/master/train_test_inputs/<name>.

Result (``data/nyu``)::

    sync/<scene>/rgb_XXXXX.jpg, sync_depth_XXXXX.png
    official_splits/test/<scene>/rgb_XXXXX.jpg, sync_depth_XXXXX.png
    splits/nyudepthv2_train_files_with_gt.txt, splits/nyudepthv2_test_files_with_gt.txt

Usage::

    python tools/dataset_converters/prepare_nyu.py --out data/nyu [--sync-zip sync.zip]
        [--splits-from data/rsa_text/data_splits] [--captions-from RSA_CHECKOUT_OR_ZIP]
        [--labeled-mat nyu_depth_v2_labeled.mat --splits-mat splits.mat]

Local sources instead of downloads: ``--splits-from DIR`` (the two split lists; nothing is
downloaded then), ``--labeled-mat`` / ``--splits-mat`` (the official files, or put them in
``--download-dir``), ``--sync-zip`` (archive) or ``--sync-dir`` (extracted ``sync`` folder,
linked), ``--captions-from`` (RSA's captions: a checkout, its archive or a ``text_all``
folder; installed under ``--captions-out``). Offline, a file that is missing is named with
its URL and where to put it, in one line.
"""
import argparse
import os
import os.path as osp
from typing import Iterable, Sequence

import numpy as np
from converter_utils import (
    add_source_args,
    download,
    extract,
    install_rsa_captions,
    install_split_lists,
    link_or_copy,
    missing_files,
    read_lines,
    report_missing,
    run,
)

LABELED_URL = 'http://horatio.cs.nyu.edu/mit/silberman/nyu_depth_v2/nyu_depth_v2_labeled.mat'
SPLITS_URL = 'http://horatio.cs.nyu.edu/mit/silberman/indoor_seg_sup/splits.mat'
BTS_SPLIT_URL = 'https://raw.githubusercontent.com/cleinc/bts/master/train_test_inputs/{name}'
SYNC_GDRIVE_ID = '1AysroWpfISmm-yRFb5EsI1cjNhJb7jgh'
SPLIT_FILES = ('nyudepthv2_train_files_with_gt.txt', 'nyudepthv2_test_files_with_gt.txt')


def export_official(images: Sequence[np.ndarray], raw_depths: Sequence[np.ndarray],
                    scenes: Sequence[str], indices: Iterable[int], out_dir: str) -> int:
    """Write frames ``indices`` (1-based, as ``splits.mat``) in the BTS test layout.

    ``images[i]`` is ``(H, W, 3)`` RGB uint8, ``raw_depths[i]`` ``(H, W)`` metres, ``scenes[i]``
    the scene type. Returns the number of frames written.
    """
    import cv2

    n = 0
    for idx in indices:
        i = int(idx) - 1
        folder = osp.join(out_dir, scenes[i])
        os.makedirs(folder, exist_ok=True)
        depth = np.asarray(raw_depths[i], dtype=np.float64) * 1000.0
        cv2.imwrite(osp.join(folder, f'sync_depth_{i:05d}.png'),
                    np.clip(depth, 0, 65535).astype(np.uint16))
        rgb = np.asarray(images[i], dtype=np.uint8)
        framed = np.zeros_like(rgb)
        framed[7:474, 7:632] = rgb[7:474, 7:632]  # the Kinect's invalid border, black
        cv2.imwrite(osp.join(folder, f'rgb_{i:05d}.jpg'), framed[..., ::-1])
        n += 1
    return n


def export_from_mat(labeled_mat: str, splits_mat: str, out_dir: str) -> int:
    """Export the official test images of ``nyu_depth_v2_labeled.mat`` (HDF5 / MATLAB v7.3)."""
    import h5py
    import scipy.io

    test = [int(x) for x in np.ravel(scipy.io.loadmat(splits_mat)['testNdxs'])]
    with h5py.File(labeled_mat, 'r') as f:
        scenes = [''.join(chr(c) for c in np.ravel(f[ref])) for ref in f['sceneTypes'][0]]

        class _T:  # lazily transposed views: MATLAB stores (N, C, W, H)
            def __init__(self, ds):
                self.ds = ds

            def __getitem__(self, i):
                return np.asarray(self.ds[i]).T

        return export_official(_T(f['images']), _T(f['rawDepths']), scenes, test, out_dir)


def install_split_files(out: str, splits_from: str = None) -> None:
    """Copy the BTS/RSA split lists into ``out/splits``: from ``splits_from`` when given (a
    list missing there is an error; nothing is downloaded), else from BTS's repository."""
    install_split_lists(SPLIT_FILES, osp.join(out, 'splits'), splits_from, BTS_SPLIT_URL)


def check_layout(out: str) -> bool:
    """Check that every file the split lists name exists."""
    ok = True
    for name, prefix in zip(SPLIT_FILES, ('sync', 'official_splits/test')):
        path = osp.join(out, 'splits', name)
        if not osp.isfile(path):
            print(f'[check] {path} missing')
            ok = False
            continue
        rels = [p.lstrip('/') for line in read_lines(path) for p in line.split()[:2]]
        ok &= report_missing(name, missing_files(osp.join(out, prefix), rels), len(rels))
    return ok


def main(argv=None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/nyu')
    parser.add_argument('--sync-zip', help=f'BTS sync.zip (Google Drive id {SYNC_GDRIVE_ID})')
    parser.add_argument('--sync-dir', help='an extracted BTS sync/ folder (linked)')
    parser.add_argument('--labeled-mat', help='local nyu_depth_v2_labeled.mat')
    parser.add_argument('--splits-mat', help='local splits.mat (official test indices)')
    parser.add_argument('--captions-out', default='data/rsa_text',
                        help='where --captions-from goes (RSACaptionSource root/..)')
    parser.add_argument('--download-dir', default='data/downloads/nyu')
    add_source_args(parser, splits='folder with the two split lists (RSA data_splits); '
                    'nothing is downloaded then', captions="RSA's captions: checkout, archive "
                    'or text_all folder')
    args = parser.parse_args(argv)
    install_split_files(args.out, args.splits_from)
    if args.captions_from:
        install_rsa_captions(args.captions_from, args.captions_out, 'nyu')
    test_dir = osp.join(args.out, 'official_splits', 'test')
    if not osp.isdir(test_dir):
        mat = args.labeled_mat or download(
            LABELED_URL, osp.join(args.download_dir, 'nyu_depth_v2_labeled.mat'),
            hint='--labeled-mat FILE')
        splits = args.splits_mat or download(
            SPLITS_URL, osp.join(args.download_dir, 'splits.mat'), hint='--splits-mat FILE')
        print(f'[export] {export_from_mat(mat, splits, test_dir)} test images')
    if args.sync_zip:
        extract(args.sync_zip, args.out)  # the archive holds sync/<scene>/...
    elif args.sync_dir:
        link_or_copy(args.sync_dir, osp.join(args.out, 'sync'))
    elif not osp.isdir(osp.join(args.out, 'sync')):
        print(f'[note] training set: download sync.zip (gdown {SYNC_GDRIVE_ID}) and rerun '
              'with --sync-zip sync.zip')
    return check_layout(args.out)


if __name__ == '__main__':
    run(main)
