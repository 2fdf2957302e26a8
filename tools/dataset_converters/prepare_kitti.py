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
        [--splits-from data/rsa_text/data_splits] [--keep-zips]
"""
import argparse
import os
import os.path as osp
import re
import shutil
from typing import Iterable, List

from converter_utils import (
    download,
    extract,
    link_or_copy,
    missing_files,
    read_lines,
    report_missing,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/kitti')
    parser.add_argument('--splits-from', help='folder with the split lists (RSA data_splits)')
    parser.add_argument('--download-dir', default='data/downloads/kitti')
    parser.add_argument('--keep-zips', action='store_true')
    args = parser.parse_args()
    os.makedirs(osp.join(args.out, 'splits'), exist_ok=True)
    lines = []
    for name in SPLIT_FILES:
        dst = osp.join(args.out, 'splits', name)
        src = osp.join(args.splits_from, name) if args.splits_from else None
        if not osp.isfile(dst):
            if src and osp.isfile(src):
                shutil.copy2(src, dst)
            else:
                download(BTS_SPLIT_URL.format(name=name), dst)
        lines += read_lines(dst)
    raw = osp.join(args.out, 'raw')
    drives = drives_in_split(lines)
    for date in sorted({d[:10] for d in drives}):
        if not osp.isfile(osp.join(raw, date, 'calib_cam_to_cam.txt')):
            zip_path = download(CALIB_URL.format(date=date),
                                osp.join(args.download_dir, f'{date}_calib.zip'))
            extract(zip_path, raw)
    for drive in drives:
        if osp.isdir(osp.join(raw, drive[:10], drive + '_sync')):
            continue
        zip_path = download(RAW_URL.format(drive=drive),
                            osp.join(args.download_dir, f'{drive}_sync.zip'))
        extract(zip_path, raw)
        if not args.keep_zips:
            os.remove(zip_path)
    annotated = osp.join(args.download_dir, 'data_depth_annotated')
    if not osp.isdir(osp.join(args.out, 'data_depth_annotated')):
        zip_path = download(ANNOTATED_URL, osp.join(args.download_dir,
                                                    'data_depth_annotated.zip'))
        extract(zip_path, annotated)
        merge_annotated(annotated, osp.join(args.out, 'data_depth_annotated'))
    check_layout(args.out)


if __name__ == '__main__':
    main()
