"""Prepare iBims-1 (Koch et al., "Evaluation of CNN-based Single-Image Depth Estimation
Methods", ECCV-W 2018) for zero-shot evaluation.

Source: https://www.asg.ed.tum.de/lmf/ibims1/ -- the TUM data server (FTP, public account
``m1455541``): ``ibims1_core_raw.zip`` (``rgb/``, ``depth/`` (uint16, raw * 50 / 65535 m),
``mask_invalid/``, ``mask_transp/``, ``calib/``, ...) and ``imagelist.txt`` (the 100 names).

Result (``data/ibims``)::

    ibims1_core_raw/rgb/<name>.png, depth/<name>.png, mask_invalid/, mask_transp/, calib/
    ibims1_core_raw/imagelist.txt

Usage::

    python tools/dataset_converters/prepare_ibims.py --out data/ibims [--zip ibims1_core_raw.zip]
        [--splits-from DIR] [--captions-from captions.json|caption_folder]

Local sources: ``--zip`` (the archive, or put it in ``--download-dir``), ``--splits-from DIR``
(``imagelist.txt``), ``--captions-from`` (written to ``<out>/captions.json``).
"""
import argparse
import os.path as osp
import shutil

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
)

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


def main(argv=None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/ibims')
    parser.add_argument('--download-dir', default='data/downloads/ibims')
    parser.add_argument('--zip', help='local ibims1_core_raw.zip')
    add_source_args(parser, splits='folder with imagelist.txt',
                    captions='captions: JSON {image: [captions]}, caption folder or archive')
    args = parser.parse_args(argv)
    if not osp.isdir(osp.join(args.out, 'ibims1_core_raw')):
        archive = args.zip or download(FTP_ROOT + 'ibims1_core_raw.zip',
                                       osp.join(args.download_dir, 'ibims1_core_raw.zip'),
                                       hint='--zip FILE')
        extract(archive, args.out)
    listing = osp.join(args.out, 'ibims1_core_raw', 'imagelist.txt')
    if not osp.isfile(listing):
        if args.splits_from:
            install_split_lists(['imagelist.txt'], osp.dirname(listing), args.splits_from)
        else:
            shutil.copy2(download(FTP_ROOT + 'imagelist.txt',
                                  osp.join(args.download_dir, 'imagelist.txt'),
                                  hint='--splits-from DIR'), listing)
    if args.captions_from:
        install_json_captions(args.captions_from, osp.join(args.out, 'captions.json'),
                              ext='.png')
    return check_layout(args.out)


if __name__ == '__main__':
    run(main)
