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
        [--splits-from data/rsa_text/data_splits]
"""
import argparse
import os
import os.path as osp
import shutil
from typing import Iterable, Sequence

import numpy as np
from converter_utils import download, extract, missing_files, read_lines, report_missing

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
    """Copy the BTS/RSA split lists into ``out/splits`` (download from BTS if not given)."""
    os.makedirs(osp.join(out, 'splits'), exist_ok=True)
    for name in SPLIT_FILES:
        dst = osp.join(out, 'splits', name)
        if osp.isfile(dst):
            continue
        src = osp.join(splits_from, name) if splits_from else None
        if src and osp.isfile(src):
            shutil.copy2(src, dst)
        else:
            download(BTS_SPLIT_URL.format(name=name), dst)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/nyu')
    parser.add_argument('--sync-zip', help=f'BTS sync.zip (Google Drive id {SYNC_GDRIVE_ID})')
    parser.add_argument('--splits-from', help='folder with the split lists (RSA data_splits)')
    parser.add_argument('--download-dir', default='data/downloads/nyu')
    args = parser.parse_args()
    install_split_files(args.out, args.splits_from)
    test_dir = osp.join(args.out, 'official_splits', 'test')
    if not osp.isdir(test_dir):
        mat = download(LABELED_URL, osp.join(args.download_dir, 'nyu_depth_v2_labeled.mat'))
        splits = download(SPLITS_URL, osp.join(args.download_dir, 'splits.mat'))
        print(f'[export] {export_from_mat(mat, splits, test_dir)} test images')
    if args.sync_zip:
        extract(args.sync_zip, args.out)  # the archive holds sync/<scene>/...
    elif not osp.isdir(osp.join(args.out, 'sync')):
        print(f'[note] training set: download sync.zip (gdown {SYNC_GDRIVE_ID}) and rerun '
              'with --sync-zip sync.zip')
    check_layout(args.out)


if __name__ == '__main__':
    main()
