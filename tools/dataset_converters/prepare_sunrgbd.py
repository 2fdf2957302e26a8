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
        [--data-zip SUNRGBD.zip] [--toolbox-zip SUNRGBDtoolbox.zip] [--splits-from DIR]
        [--captions-from captions.json|caption_folder]

Local sources: ``--data-zip`` / ``--toolbox-zip`` (or the files put in ``--download-dir``),
``--splits-from DIR`` (``allsplit.mat``, or ``sunrgbd_train.txt`` + ``sunrgbd_test.txt``),
``--captions-from`` (written to ``<out>/captions.json``, which the configs read).
"""
import argparse
import os.path as osp
from typing import Dict, List

import numpy as np
from converter_utils import (
    add_source_args,
    download,
    extract,
    install_json_captions,
    install_split_lists,
    missing_files,
    read_lines,
    report_missing,
    run,
    write_lines,
)

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


def install_lists(args) -> dict:
    """Write ``splits/sunrgbd_{train,test}.txt``: copied from ``--splits-from`` (the lists, or
    an ``allsplit.mat`` there), else parsed from the toolbox's ``allsplit.mat``."""
    names = ('sunrgbd_train.txt', 'sunrgbd_test.txt')
    splits_dir = osp.join(args.out, 'splits')
    mat = None
    if args.splits_from:
        if osp.isfile(osp.join(args.splits_from, 'allsplit.mat')):
            mat = osp.join(args.splits_from, 'allsplit.mat')
        else:
            install_split_lists(names, splits_dir, args.splits_from)
            return {n[len('sunrgbd_'):-len('.txt')]: read_lines(osp.join(splits_dir, n))
                    for n in names}
    if mat is None:
        toolbox = osp.join(args.download_dir, 'toolbox')
        if not osp.isfile(osp.join(toolbox, ALLSPLIT)):
            archive = args.toolbox_zip or download(
                TOOLBOX_URL, osp.join(args.download_dir, 'SUNRGBDtoolbox.zip'),
                hint='--toolbox-zip FILE, or --splits-from DIR')
            extract(archive, toolbox)
        mat = osp.join(toolbox, ALLSPLIT)
    lists = split_lists_from_allsplit(mat)
    for split, frames in lists.items():
        write_lines(osp.join(splits_dir, f'sunrgbd_{split}.txt'), frames)
    return lists


def main(argv=None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/sunrgbd')
    parser.add_argument('--download-dir', default='data/downloads/sunrgbd')
    parser.add_argument('--data-zip', help='local SUNRGBD.zip')
    parser.add_argument('--toolbox-zip', help='local SUNRGBDtoolbox.zip')
    add_source_args(parser, splits='folder with allsplit.mat or sunrgbd_{train,test}.txt',
                    captions='captions: JSON {image: [captions]}, caption folder or archive')
    args = parser.parse_args(argv)
    lists = install_lists(args)
    if not osp.isdir(osp.join(args.out, 'SUNRGBD')):
        archive = args.data_zip or download(DATA_URL, osp.join(args.download_dir, 'SUNRGBD.zip'),
                                            hint='--data-zip FILE')
        extract(archive, args.out)
    if args.captions_from:
        install_json_captions(args.captions_from, osp.join(args.out, 'captions.json'))
    return report_missing('test frames', missing_files(osp.join(args.out, 'SUNRGBD'),
                                                       lists['test']), len(lists['test']))


if __name__ == '__main__':
    run(main)
