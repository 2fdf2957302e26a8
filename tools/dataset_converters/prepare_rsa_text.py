"""Fetch RSA's captions and split files (Zeng et al., "RSA: Resolving Scale Ambiguities in
Monocular Depth Estimators through Language Descriptions", NeurIPS 2024).

Source: https://github.com/Adonis-galaxy/RSA (folder ``DPT_LanScale/``):
``text/text_all/<nyu|kitti|void>/<train|test>/<image path without extension>.txt`` (15 captions
per image: 5 LLaVA-Mistral, 5 LLaVA-Vicuna, 5 object lists) and ``data_splits/`` (NYUv2 and
KITTI Eigen ``rgb depth focal`` lists, VOID path lists).

Result::

    data/rsa_text/text/text_all/...      # RSACaptionSource(root='data/rsa_text/text/text_all')
    data/rsa_text/data_splits/...

Usage::

    python tools/dataset_converters/prepare_rsa_text.py --out data/rsa_text
    python tools/dataset_converters/prepare_rsa_text.py --checkout path/to/RSA --out ...
    python tools/dataset_converters/prepare_rsa_text.py --archive RSA-<commit>.zip --out ...

``--checkout`` (a clone or an extracted archive) and ``--archive`` (the GitHub archive, e.g.
downloaded on another machine) work offline; without them the archive of :data:`RSA_COMMIT`
is downloaded (offline: one line saying which URL to fetch and where to pass it).
"""
import argparse
import os
import os.path as osp
import shutil
import tempfile

from converter_utils import MissingFileError, add_source_args, download, extract, run

RSA_REPO = 'https://github.com/Adonis-galaxy/RSA'
#: The commit whose captions the tests and the paper comparison use.
RSA_COMMIT = '7e88bc22b4091f17f6ae115a36372f5e405dfd39'
RSA_ARCHIVE = RSA_REPO + '/archive/{commit}.zip'
SUBDIR = 'DPT_LanScale'


def find_subdir(checkout: str) -> str:
    """The ``DPT_LanScale`` folder of an RSA checkout (or of an extracted archive)."""
    for cand in (osp.join(checkout, SUBDIR), checkout):
        if osp.isdir(osp.join(cand, 'text', 'text_all')):
            return cand
    for name in sorted(os.listdir(checkout)):  # archive: RSA-<commit>/DPT_LanScale
        cand = osp.join(checkout, name, SUBDIR)
        if osp.isdir(osp.join(cand, 'text', 'text_all')):
            return cand
    raise MissingFileError(f'no {SUBDIR}/text/text_all in {checkout}')


def install_rsa_text(checkout: str, out: str, move: bool = False) -> dict:
    """Copy (or move) ``text/text_all`` and ``data_splits`` of an RSA checkout into ``out``.

    Returns the number of caption files per dataset and split.
    """
    src = find_subdir(checkout)
    op = shutil.move if move else shutil.copytree
    for rel in ('text/text_all', 'data_splits'):
        if not osp.isdir(osp.join(src, rel)):
            raise MissingFileError(f'{osp.join(src, rel)} missing')
        dst = osp.join(out, rel)
        if osp.exists(dst):
            print(f'[skip] {dst} exists')
            continue
        os.makedirs(osp.dirname(dst), exist_ok=True)
        op(osp.join(src, rel), dst)
    counts = {}
    text_root = osp.join(out, 'text', 'text_all')
    for dataset in sorted(os.listdir(text_root)):
        for split in sorted(os.listdir(osp.join(text_root, dataset))):
            n = sum(len([f for f in files if f.endswith('.txt')])
                    for _, _, files in os.walk(osp.join(text_root, dataset, split)))
            counts[f'{dataset}/{split}'] = n
    for key, n in counts.items():
        print(f'[captions] {key}: {n} files')
    return counts


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/rsa_text')
    parser.add_argument('--checkout', help='an existing RSA clone or extracted archive')
    parser.add_argument('--archive', help="RSA's GitHub archive (.zip), downloaded elsewhere")
    parser.add_argument('--commit', default=RSA_COMMIT)
    add_source_args(parser, splits=None, captions=None)
    args = parser.parse_args(argv)
    if args.checkout:
        return install_rsa_text(args.checkout, args.out)
    with tempfile.TemporaryDirectory() as tmp:
        archive = args.archive or download(
            RSA_ARCHIVE.format(commit=args.commit), osp.join(tmp, 'rsa.zip'),
            hint='--archive FILE, or --checkout a clone')
        extract(archive, tmp)
        return install_rsa_text(tmp, args.out, move=True)


if __name__ == '__main__':
    run(main)
