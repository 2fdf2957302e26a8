"""Write a frame manifest (``DepthManifestDataset``'s JSON) for your own RGB-D frames.

From a folder of images and depth maps paired by relative path (as ``DepthFolderDataset``
reads them), or from an existing manifest (``../shared/data/rgbd_real/manifest.json`` is one),
with the frames' depth format and scale, intrinsics and captions::

    python tools/dataset_converters/make_manifest.py --rgb-dir data/robot/rgb \\
        --depth-dir data/robot/depth --depth-format png_uint16 --depth-scale 1000 \\
        --intrinsics 525 525 319.5 239.5 --caption-template "A photo of a {scene_type} room." \\
        --scene-type indoor --dataset robot --out data/robot/manifest.json

    python tools/dataset_converters/make_manifest.py --from-manifest frames/manifest.json \\
        --captions captions.tsv --out data/frames_with_captions.json

The frames are read **in place**: the manifest's paths point at them relative to the new
manifest's folder (``--absolute`` writes absolute paths); nothing is copied.

Captions, one way per run:

- ``--captions F``: a JSON object ``{image: caption or [captions]}`` or ``image<TAB>caption``
  lines, keyed by the image's path as the manifest / ``--rgb-dir`` lists it or its file name;
- ``--caption-template "..."``: ``str.format`` with the frame's fields (``dataset``,
  ``scene_type``, ``stem`` -- the image file name without extension --, ``index`` and any
  other string or number the source manifest gives the frame);
- neither: the source manifest's ``caption(s)`` are kept (a frame without one is an error).

Frame fields written: ``rgb``, ``depth``, ``depth_format``, ``depth_scale``, ``K`` ([fx, fy, cx,
cy] or null), ``dataset``, ``scene_type``, ``captions``, plus the source's other fields.
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from converter_utils import DataError, MissingFileError, add_source_args, run

from tr2m.apis.infer_inputs import IMG_EXTS, read_caption_table
from tr2m.datasets.depth_io import DEPTH_FORMATS
from tr2m.datasets.folder_dataset import DEPTH_EXTS
from tr2m.utils.files import load_json


def frames_from_folders(rgb_dir: str, depth_dir: str, depth_format: str,
                        depth_ext: Optional[str] = None) -> List[dict]:
    """``[{rgb, depth}]`` (absolute paths) of images paired with depth maps by relative stem.

    Raises:
        MissingFileError: a folder is missing, or an image has no depth map.
    """
    for folder in (rgb_dir, depth_dir):
        if not osp.isdir(folder):
            raise MissingFileError(f'folder not found: {folder}')
    ext = depth_ext or DEPTH_EXTS.get(depth_format)
    if ext is None:
        raise DataError(f'give --depth-ext for depth format {depth_format!r}')
    frames = []
    for root, _, files in sorted(os.walk(rgb_dir)):
        for name in sorted(files):
            if not name.lower().endswith(IMG_EXTS):
                continue
            rel = osp.relpath(osp.join(root, name), rgb_dir)
            depth = osp.join(depth_dir, osp.splitext(rel)[0] + ext)
            if not osp.isfile(depth):
                raise MissingFileError(f'no depth map for image {osp.join(rgb_dir, rel)}: '
                                       f'expected {depth}')
            frames.append(dict(rgb=osp.abspath(osp.join(rgb_dir, rel)),
                               depth=osp.abspath(depth), key=rel.replace(os.sep, '/')))
    if not frames:
        raise MissingFileError(f'no images ({", ".join(IMG_EXTS)}) under {rgb_dir}')
    return frames


def frames_from_manifest(path: str) -> List[dict]:
    """The frames of a manifest, with ``rgb``/``depth`` made absolute (``key``: the ``rgb``
    path as the manifest writes it)."""
    if not osp.isfile(path):
        raise MissingFileError(f'manifest not found: {path}')
    data = load_json(path, 'manifest')  # not UTF-8 / not JSON: one line naming it
    frames = data.get('frames') if isinstance(data, dict) else data
    if not isinstance(frames, list):
        raise DataError(f'manifest {path} must hold {{"frames": [...]}} or a list of frames')
    root = osp.dirname(osp.abspath(path))
    out = []
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict):
            raise DataError(f'frame {i} of {path} is a {type(frame).__name__}, not an object')
        missing = [k for k in ('rgb', 'depth') if k not in frame]
        if missing:
            raise DataError(f'frame {i} of {path} has no {missing}')
        out.append(dict(frame, key=frame['rgb'], rgb=osp.join(root, frame['rgb']),
                        depth=osp.join(root, frame['depth'])))
    return out


def caption_of(frame: dict, index: int, table: Optional[Dict[str, str]],
               template: Optional[str]) -> List[str]:
    """The frame's captions from the table, the template or the frame itself."""
    name = osp.basename(frame['rgb'])
    if table is not None:
        for key in (frame['key'], name):
            if key in table:
                value = table[key]
                return [value] if isinstance(value, str) else list(value)
        raise DataError(f'no caption for frame {frame["key"]} (looked for {frame["key"]!r} and '
                        f'{name!r})')
    if template is not None:
        fields = {k: v for k, v in frame.items() if isinstance(v, (str, int, float))}
        fields.update(stem=osp.splitext(name)[0], index=index)
        try:
            return [template.format(**fields)]
        except (KeyError, IndexError) as err:
            raise DataError(f'caption template field {err} has no value for frame '
                            f'{frame["key"]} (fields: {sorted(fields)})') from err
    captions = frame.get('captions') or ([frame['caption']] if frame.get('caption') else [])
    if not captions:
        raise DataError(f'frame {frame["key"]} has no caption: pass --captions F or '
                        '--caption-template "..."')
    return list(captions)


def build_manifest(frames: Sequence[dict], out: str, table=None, template=None,
                   depth_format=None, depth_scale=None, intrinsics=None, dataset=None,
                   scene_type=None, datasets=None, absolute=False) -> dict:
    """The manifest dict (see the module docstring); ``datasets`` keeps only those frames."""
    base = osp.dirname(osp.abspath(out))
    written = []
    for i, frame in enumerate(frames):
        if datasets and frame.get('dataset') not in datasets:
            continue
        item = {k: v for k, v in frame.items() if k not in ('key', 'caption')}
        for key in ('rgb', 'depth'):
            item[key] = frame[key] if absolute else osp.relpath(frame[key], base)
        if depth_format is not None:
            item['depth_format'] = depth_format
        if depth_scale is not None:
            item['depth_scale'] = depth_scale
        item.setdefault('depth_format', 'png_uint16')
        if item['depth_format'] not in DEPTH_FORMATS:
            raise DataError(f'unknown depth format {item["depth_format"]!r}; known: '
                            f'{sorted(DEPTH_FORMATS)}')
        if intrinsics is not None:
            item['K'] = [float(v) for v in intrinsics]
        item.setdefault('K', None)
        if dataset is not None:
            item['dataset'] = dataset
        if scene_type is not None:
            item['scene_type'] = scene_type
        item['captions'] = caption_of(dict(frame, **item, key=frame['key']), i, table,
                                      template)
        written.append(item)
    if not written:
        raise DataError(f'no frame selected (datasets={list(datasets or [])})')
    return dict(frames=written)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--from-manifest', help='an existing manifest to re-caption / re-base')
    src.add_argument('--rgb-dir', help='folder of images (sub-folders allowed)')
    parser.add_argument('--depth-dir', help='folder of depth maps with the same relative stems')
    parser.add_argument('--depth-format', choices=sorted(DEPTH_FORMATS),
                        help='depth encoding (default: the source\'s, else png_uint16)')
    parser.add_argument('--depth-scale', type=float,
                        help='stored value / scale = depth in metres (1000 for mm PNGs)')
    parser.add_argument('--depth-ext', help='depth file extension (default: from the format)')
    parser.add_argument('--intrinsics', nargs=4, type=float, metavar=('FX', 'FY', 'CX', 'CY'))
    cap = parser.add_mutually_exclusive_group()
    cap.add_argument('--captions', help='JSON {image: caption} or image<TAB>caption lines')
    cap.add_argument('--caption-template', help='e.g. "A photo of a {scene_type} scene."')
    parser.add_argument('--dataset', help='dataset name of every frame (protocols are keyed '
                        'by it)')
    parser.add_argument('--scene-type', help='indoor / outdoor / endoscopic')
    parser.add_argument('--datasets', nargs='+', help='keep only frames of these datasets')
    parser.add_argument('--absolute', action='store_true', help='write absolute paths')
    parser.add_argument('--out', required=True, help='the manifest to write')
    add_source_args(parser, splits=None, captions=None)
    args = parser.parse_args(argv)
    if args.rgb_dir:
        if not args.depth_dir:
            parser.error('--rgb-dir needs --depth-dir')
        frames = frames_from_folders(args.rgb_dir, args.depth_dir,
                                     args.depth_format or 'png_uint16', args.depth_ext)
    else:
        frames = frames_from_manifest(args.from_manifest)
    table = read_caption_table(args.captions) if args.captions else None
    manifest = build_manifest(
        frames, args.out, table, args.caption_template, args.depth_format,
        args.depth_scale if args.depth_scale is not None else (
            1000.0 if args.rgb_dir and (args.depth_format or 'png_uint16') == 'png_uint16'
            else None),
        args.intrinsics, args.dataset, args.scene_type, args.datasets, args.absolute)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(manifest, f, indent=1)
    print(f'[manifest] {args.out}: {len(manifest["frames"])} frames')
    return manifest


if __name__ == '__main__':
    run(main)
