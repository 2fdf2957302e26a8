"""Prepare iBims-1 (Koch et al., "Evaluation of CNN-based Single-Image Depth Estimation
Methods", ECCV-W 2018) for zero-shot evaluation.

Source: https://www.asg.ed.tum.de/lmf/ibims1/ -- the TUM data server (FTP, public account
``m1455541``): ``ibims1_core_raw.zip`` (``rgb/``, ``depth/`` (uint16, raw * 50 / 65535 m),
``mask_invalid/``, ``mask_transp/``, ``calib/``, ...) and ``imagelist.txt`` (the 100 names).

Result (``data/ibims``)::

    ibims1_core_raw/rgb/<name>.png, depth/<name>.png, mask_invalid/, mask_transp/, calib/
    ibims1_core_raw/imagelist.txt

Usage::

    python tools/dataset_converters/prepare_ibims.py --out data/ibims
"""
import argparse
import os.path as osp
import shutil

from converter_utils import download, extract, missing_files, read_lines, report_missing

FTP_ROOT = 'ftp://m1455541:m1455541@dataserv.ub.tum.de/'
FOLDERS = ('rgb', 'depth', 'mask_invalid', 'mask_transp')


def check_layout(root: str) -> bool:
    """Check ``imagelist.txt`` and the four files of every listed image."""
    listing = osp.join(root, 'ibims1_core_raw', 'imagelist.txt')
    if not osp.isfile(listing):
        print(f'[check] {listing} missing')
        return False
    names = [n for line in read_lines(listing) for n in line.split()]
    rels = [f'{d}/{osp.splitext(n)[0]}.png' for n in names for d in FOLDERS]
    return report_missing('ibims1_core_raw', missing_files(osp.join(root, 'ibims1_core_raw'),
                                                           rels), len(rels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/ibims')
    parser.add_argument('--download-dir', default='data/downloads/ibims')
    args = parser.parse_args()
    if not osp.isdir(osp.join(args.out, 'ibims1_core_raw')):
        archive = download(FTP_ROOT + 'ibims1_core_raw.zip',
                           osp.join(args.download_dir, 'ibims1_core_raw.zip'))
        extract(archive, args.out)
    listing = osp.join(args.out, 'ibims1_core_raw', 'imagelist.txt')
    if not osp.isfile(listing):
        shutil.copy2(download(FTP_ROOT + 'imagelist.txt',
                              osp.join(args.download_dir, 'imagelist.txt')), listing)
    check_layout(args.out)


if __name__ == '__main__':
    main()
