"""Prepare KITTI for the Eigen split: raw drives + the annotated depth of the depth benchmark.

Sources (KITTI, CC BY-NC-SA 3.0; http://www.cvlibs.net/datasets/kitti/):

- raw drives: https://s3.eu-central-1.amazonaws.com/avg-kitti/raw_data/<drive>/<drive>_sync.zip
  and per-day calibration .../raw_data/<date>_calib.zip (the official ``raw_data_downloader.sh``
  fetches the same files); only the drives named in the split lists are needed.
- annotated depth: https://s3.eu-central-1.amazonaws.com/avg-kitti/data_depth_annotated.zip
  (``train/`` and ``val/`` folders of ``<drive>/proj_depth/groundtruth/image_0{2,3}/``); they are
  merged into one tree by symbolic links, as the split lists expect.
- split lists: RSA's / BTS's ``eigen_train_files_with_gt.txt`` and
  ``eigen_test_files_with_gt.txt`` (``rgb depth focal``; test lines without GT say ``None``),
  e.g. https://raw.githubusercontent.com/cleinc/bts/master/train_test_inputs/<name>.

Result (``data/kitti``)::

    raw/<date>/<date>_drive_XXXX_sync/image_02/data/*.png, raw/<date>/calib_cam_to_cam.txt
    data_depth_annotated/<date>_drive_XXXX_sync/proj_depth/groundtruth/image_02/*.png
    splits/eigen_train_files_with_gt.txt, splits/eigen_test_files_with_gt.txt

Usage::

    python tools/dataset_converters/prepare_kitti.py --out data/kitti
        [--splits-from data/rsa_text/data_splits] [--captions-from RSA_CHECKOUT_OR_ZIP]
        [--raw-dir DIR] [--annotated-zip data_depth_annotated.zip] [--keep-zips]

Local sources instead of downloads: ``--splits-from DIR`` (nothing is downloaded for the
lists), ``--raw-dir`` (raw drives already extracted as ``<date>/<drive>_sync``, linked),
``--annotated-zip`` or ``--annotated-dir`` (the depth benchmark's annotated depth), drive and
calibration zips put in ``--download-dir``, ``--captions-from`` (RSA's captions). Offline, a
missing file is named with its URL and where to put it, in one line.
"""
import argparse
import os
import os.path as osp
import re
from typing import Iterable, List

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

from tr2m.datasets.kitti import kitti_date

RAW_URL = 'https://s3.eu-central-1.amazonaws.com/avg-kitti/raw_data/{drive}/{drive}_sync.zip'
CALIB_URL = 'https://s3.eu-central-1.amazonaws.com/avg-kitti/raw_data/{date}_calib.zip'
ANNOTATED_URL = 'https://s3.eu-central-1.amazonaws.com/avg-kitti/data_depth_annotated.zip'
BTS_SPLIT_URL = 'https://raw.githubusercontent.com/cleinc/bts/master/train_test_inputs/{name}'
SPLIT_FILES = ('eigen_train_files_with_gt.txt', 'eigen_test_files_with_gt.txt')
_DRIVE = re.compile(r'(\d{4}_\d{2}_\d{2})_drive_(\d{4})')


def drives_in_split(lines: Iterable[str]) -> List[str]:
    """Sorted raw drive names (``2011_09_26_drive_0002``) used by split lines."""
    drives = set()
    for line in lines:
        match = _DRIVE.search(line)
        if match:
            drives.add(f'{match.group(1)}_drive_{match.group(2)}')
    return sorted(drives)


def merge_annotated(src: str, dst: str, copy: bool = False) -> int:
    """Link every ``<src>/{train,val}/<drive>`` to ``<dst>/<drive>``; returns the count."""
    n = 0
    for part in ('train', 'val'):
        part_dir = osp.join(src, part)
        if not osp.isdir(part_dir):
            continue
        for drive in sorted(os.listdir(part_dir)):
            link_or_copy(osp.join(part_dir, drive), osp.join(dst, drive), copy=copy)
            n += 1
    if n == 0:
        raise FileNotFoundError(f'no train/ or val/ drives in {src}')
    return n


def check_layout(out: str) -> bool:
    """Check the files the split lists name (lines without GT need only the image)."""
    ok = True
    for name in SPLIT_FILES:
        path = osp.join(out, 'splits', name)
        if not osp.isfile(path):
            print(f'[check] {path} missing')
            ok = False
            continue
        imgs, gts = [], []
        for line in read_lines(path):
            fields = line.split()
            img = fields[0].lstrip('/')
            date = kitti_date(img)
            imgs.append(img if date is None or img.startswith(date + '/') else f'{date}/{img}')
            if len(fields) > 1 and fields[1] != 'None':
                gts.append(fields[1])
        ok &= report_missing(f'{name} images', missing_files(osp.join(out, 'raw'), imgs),
                             len(imgs))
        ok &= report_missing(f'{name} depth', missing_files(
            osp.join(out, 'data_depth_annotated'), gts), len(gts))
    return ok


def link_raw_drives(raw_dir: str, raw: str) -> int:
    """Link every ``<date>`` folder of an extracted raw tree into ``raw``; returns the count."""
    n = 0
    for date in sorted(os.listdir(raw_dir)):
        if re.fullmatch(r'\d{4}_\d{2}_\d{2}', date) and osp.isdir(osp.join(raw_dir, date)):
            link_or_copy(osp.join(raw_dir, date), osp.join(raw, date))
            n += 1
    if n == 0:
        raise FileNotFoundError(f'no <date> folders (2011_09_26, ...) in --raw-dir {raw_dir}')
    return n


def main(argv=None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/kitti')
    parser.add_argument('--download-dir', default='data/downloads/kitti')
    parser.add_argument('--raw-dir', help='raw drives already extracted (<date>/<drive>_sync)')
    parser.add_argument('--annotated-zip', help='local data_depth_annotated.zip')
    parser.add_argument('--annotated-dir', help='data_depth_annotated extracted (train/, val/)')
    parser.add_argument('--captions-out', default='data/rsa_text')
    parser.add_argument('--keep-zips', action='store_true')
    add_source_args(parser, splits='folder with the Eigen split lists (RSA data_splits); '
                    'nothing is downloaded then', captions="RSA's captions: checkout, archive "
                    'or text_all folder')
    args = parser.parse_args(argv)
    lists = install_split_lists(SPLIT_FILES, osp.join(args.out, 'splits'), args.splits_from,
                                BTS_SPLIT_URL)
    if args.captions_from:
        install_rsa_captions(args.captions_from, args.captions_out, 'kitti')
    lines = [line for path in lists for line in read_lines(path)]
    raw = osp.join(args.out, 'raw')
    if args.raw_dir:
        link_raw_drives(args.raw_dir, raw)
    drives = drives_in_split(lines)
    for date in sorted({d[:10] for d in drives}):
        if not osp.isfile(osp.join(raw, date, 'calib_cam_to_cam.txt')):
            zip_path = download(CALIB_URL.format(date=date),
                                osp.join(args.download_dir, f'{date}_calib.zip'),
                                hint='--raw-dir DIR')
            extract(zip_path, raw)
    for drive in drives:
        if osp.isdir(osp.join(raw, drive[:10], drive + '_sync')):
            continue
        zip_path = download(RAW_URL.format(drive=drive),
                            osp.join(args.download_dir, f'{drive}_sync.zip'),
                            hint='--raw-dir DIR')
        extract(zip_path, raw)
        if not args.keep_zips:
            os.remove(zip_path)
    if not osp.isdir(osp.join(args.out, 'data_depth_annotated')):
        annotated = args.annotated_dir
        if annotated is None:
            annotated = osp.join(args.download_dir, 'data_depth_annotated')
            zip_path = args.annotated_zip or download(
                ANNOTATED_URL, osp.join(args.download_dir, 'data_depth_annotated.zip'),
                hint='--annotated-zip FILE')
            extract(zip_path, annotated)
        merge_annotated(annotated, osp.join(args.out, 'data_depth_annotated'))
    return check_layout(args.out)


if __name__ == '__main__':
    run(main)
