"""Prepare SUN RGB-D (Song et al., CVPR 2015) for zero-shot evaluation on its test split.

Sources: http://rgbd.cs.princeton.edu/data/SUNRGBD.zip (images, depth, intrinsics) and
http://rgbd.cs.princeton.edu/data/SUNRGBDtoolbox.zip, whose
``SUNRGBDtoolbox/traintestSUNRGBD/allsplit.mat`` lists the frame folders of the official split
(``alltrain``: 5,285, ``alltest``: 5,050) as absolute paths of the authors' machine
(``/n/fs/sun3d/data/SUNRGBD/kv1/NYUdata/NYU0001``); they are rewritten relative to
``SUNRGBD/``.

Result (``data/sunrgbd``)::

    SUNRGBD/<sensor>/.../<frame>/image/*.jpg, depth/*.png, depth_bfx/*.png, intrinsics.txt
    splits/sunrgbd_train.txt, splits/sunrgbd_test.txt       # frame folders under SUNRGBD/

Usage::

    python tools/dataset_converters/prepare_sunrgbd.py --out data/sunrgbd
"""
import argparse
import os.path as osp
from typing import Dict, List

import numpy as np
from converter_utils import download, extract, missing_files, report_missing, write_lines

DATA_URL = 'http://rgbd.cs.princeton.edu/data/SUNRGBD.zip'
TOOLBOX_URL = 'http://rgbd.cs.princeton.edu/data/SUNRGBDtoolbox.zip'
ALLSPLIT = 'SUNRGBDtoolbox/traintestSUNRGBD/allsplit.mat'


def _strings(value) -> List[str]:
    """Flatten a MATLAB cell array of strings as ``scipy.io.loadmat`` returns it."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in 'US':
            return [str(v) for v in value.ravel()]
        out = []
        for item in value.ravel():
            out += _strings(item)
        return out
    return [str(value)]


def relative_frame_dir(path: str) -> str:
    """``/n/fs/sun3d/data/SUNRGBD/kv1/NYUdata/NYU0001/`` -> ``kv1/NYUdata/NYU0001``."""
    path = path.replace('\\', '/').rstrip('/')
    marker = '/SUNRGBD/'
    if marker in path:
        path = path.split(marker, 1)[1]
    return path.lstrip('/')


def split_lists_from_allsplit(mat_path: str) -> Dict[str, List[str]]:
    """``{'train': [...], 'test': [...]}`` frame folders (relative to ``SUNRGBD/``)."""
    import scipy.io

    mat = scipy.io.loadmat(mat_path)
    return {split: [relative_frame_dir(p) for p in _strings(mat[key])]
            for split, key in (('train', 'alltrain'), ('test', 'alltest'))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/sunrgbd')
    parser.add_argument('--download-dir', default='data/downloads/sunrgbd')
    args = parser.parse_args()
    toolbox = osp.join(args.download_dir, 'toolbox')
    if not osp.isfile(osp.join(toolbox, ALLSPLIT)):
        extract(download(TOOLBOX_URL, osp.join(args.download_dir, 'SUNRGBDtoolbox.zip')),
                toolbox)
    if not osp.isdir(osp.join(args.out, 'SUNRGBD')):
        extract(download(DATA_URL, osp.join(args.download_dir, 'SUNRGBD.zip')), args.out)
    lists = split_lists_from_allsplit(osp.join(toolbox, ALLSPLIT))
    for split, frames in lists.items():
        write_lines(osp.join(args.out, 'splits', f'sunrgbd_{split}.txt'), frames)
    report_missing('test frames', missing_files(osp.join(args.out, 'SUNRGBD'), lists['test']),
                   len(lists['test']))


if __name__ == '__main__':
    main()
