"""Turn a tree of per-image caption ``.txt`` files (RSA's layout: one caption per line, the
tree mirroring the image paths without extensions) into the JSON ``{relative image path:
[captions]}`` that ``JSONCaptionSource`` reads. Use it for captions you generate yourself for
the zero-shot sets (e.g. with the same LLaVA prompts as RSA), which have no public captions.

Usage::

    python tools/dataset_converters/captions_to_json.py --txt-root my_captions/sunrgbd \
        --images data/sunrgbd/splits/images.txt --out data/sunrgbd/captions.json

``--images`` lists image paths relative to the dataset's image folder (one per line; names
without extension get ``--ext``); without it, every ``.txt`` under ``--txt-root`` becomes an
entry keyed by its path with ``--ext``. The keys must equal the samples' ``caption_key`` (see
``dataset.get_data_info(i)['caption_key']``).
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from converter_utils import MissingFileError, add_source_args, read_lines, run


def txt_tree_to_dict(txt_root: str, images: Optional[Sequence[str]] = None,
                     ext: str = '.jpg', strict: bool = True) -> Dict[str, List[str]]:
    """``{image path: captions}`` from ``<txt_root>/<image path without extension>.txt``."""
    if images is None:
        images = []
        for root, _, files in os.walk(txt_root):
            for name in sorted(files):
                if name.endswith('.txt'):
                    rel = osp.relpath(osp.join(root, name), txt_root).replace(os.sep, '/')
                    images.append(rel[:-len('.txt')] + ext)
    table = {}
    images = [img if osp.splitext(img)[1] else img + ext for img in images]  # iBims' names
    for image in sorted(images):
        path = osp.join(txt_root, osp.splitext(image)[0] + '.txt')
        if not osp.isfile(path):
            if strict:
                raise MissingFileError(f'no caption file for {image}: {path}')
            continue
        table[image] = read_lines(path)
    return table


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--txt-root', required=True)
    parser.add_argument('--images', help='file listing image paths (first field per line)')
    parser.add_argument('--ext', default='.jpg', help='image extension when listing .txt files')
    parser.add_argument('--out', required=True)
    parser.add_argument('--skip-missing', action='store_true')
    add_source_args(parser, splits=None, captions=None)
    args = parser.parse_args(argv)
    images = None
    if args.images:
        images = [line.split()[0] for line in read_lines(args.images)]
    table = txt_tree_to_dict(args.txt_root, images, args.ext, strict=not args.skip_missing)
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(table, f, indent=1, ensure_ascii=False)
    print(f'[write] {args.out} ({len(table)} images)')
    return table


if __name__ == '__main__':
    run(main)
