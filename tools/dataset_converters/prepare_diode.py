"""Prepare DIODE (Vasiljevic et al., "DIODE: A Dense Indoor and Outdoor DEpth Dataset", 2019)
validation set for zero-shot evaluation.

Source: http://diode-dataset.s3.amazonaws.com/val.tar.gz (2.6 GB): ``val/{indoors,outdoor}/
scene_XXXXX/scan_XXXXX/<name>.png`` with ``<name>_depth.npy`` (metres, H x W x 1) and
``<name>_depth_mask.npy``. The image lists are written for reproducibility.

Result (``data/diode``)::

    val/outdoor/..., val/indoors/...
    splits/diode_val_outdoor.txt, splits/diode_val_indoor.txt

Usage::

    python tools/dataset_converters/prepare_diode.py --out data/diode [--archive val.tar.gz]
        [--splits-from DIR] [--captions-from captions.json|caption_folder]

Local sources: ``--archive`` (``val.tar.gz``, or put it in ``--download-dir``),
``--splits-from DIR`` (your ``diode_val_outdoor.txt`` / ``diode_val_indoor.txt`` instead of
listing the images found), ``--captions-from`` (written to ``<out>/captions.json``).
"""
import argparse
import glob
import os
import os.path as osp
from typing import Dict, List

from converter_utils import (
    add_source_args,
    download,
    extract,
    install_json_captions,
    install_split_lists,
    run,
    write_lines,
)

VAL_URL = 'http://diode-dataset.s3.amazonaws.com/val.tar.gz'


def write_split_lists(root: str) -> Dict[str, List[str]]:
    """List the images with depth and mask of ``val/outdoor`` and ``val/indoors``."""
    lists = {}
    for scene_type, folder in (('outdoor', 'outdoor'), ('indoor', 'indoors')):
        images = []
        for path in sorted(glob.glob(osp.join(root, 'val', folder, '**', '*.png'),
                                     recursive=True)):
            stem = osp.splitext(path)[0]
            if osp.isfile(stem + '_depth.npy') and osp.isfile(stem + '_depth_mask.npy'):
                images.append(osp.relpath(path, root).replace(os.sep, '/'))
        lists[scene_type] = images
        write_lines(osp.join(root, 'splits', f'diode_val_{scene_type}.txt'), images)
    return lists


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/diode')
    parser.add_argument('--download-dir', default='data/downloads/diode')
    parser.add_argument('--archive', help='local val.tar.gz')
    add_source_args(parser, splits='folder with diode_val_outdoor.txt and diode_val_indoor.txt',
                    captions='captions: JSON {image: [captions]}, caption folder or archive')
    args = parser.parse_args(argv)
    if not osp.isdir(osp.join(args.out, 'val')):
        archive = args.archive or download(VAL_URL, osp.join(args.download_dir, 'val.tar.gz'),
                                           hint='--archive FILE')
        extract(archive, args.out)
    if args.splits_from:
        names = ('diode_val_outdoor.txt', 'diode_val_indoor.txt')
        install_split_lists(names, osp.join(args.out, 'splits'), args.splits_from)
        lists = {n[len('diode_val_'):-len('.txt')]: n for n in names}
    else:
        lists = write_split_lists(args.out)
        print(f"[diode] outdoor {len(lists['outdoor'])}, indoor {len(lists['indoor'])} images")
    if args.captions_from:
        install_json_captions(args.captions_from, osp.join(args.out, 'captions.json'),
                              ext='.png')
    return lists


if __name__ == '__main__':
    run(main)
