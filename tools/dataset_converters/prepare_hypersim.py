"""Prepare HyperSim (Roberts et al., ICCV 2021) test images for zero-shot evaluation.

Sources (Apple, CC BY-SA 3.0): the official split
https://raw.githubusercontent.com/apple/ml-hypersim/main/evermotion_dataset/analysis/metadata_images_split_scene_v1.csv
(``scene_name, camera_name, frame_id, included_in_public_release, exclude_reason,
split_partition_name``) and per-scene archives
https://docs-assets.developer.apple.com/ml-research/datasets/hypersim/v1/scenes/<scene>.zip
(several GB each; only the tonemapped preview images and the ``depth_meters`` HDF5 files of the
listed frames are extracted, and each archive is deleted unless ``--keep-zips``).

Result (``data/hypersim``)::

    <scene>/images/scene_cam_XX_final_preview/frame.NNNN.tonemap.jpg
    <scene>/images/scene_cam_XX_geometry_hdf5/frame.NNNN.depth_meters.hdf5
    splits/hypersim_test.txt                     # one image path per line

Usage::

    python tools/dataset_converters/prepare_hypersim.py --out data/hypersim [--partition test]
        [--max-scenes N] [--splits-from DIR] [--captions-from captions.json|caption_folder]

Local sources: ``--splits-from DIR`` (``metadata_images_split_scene_v1.csv``), scene archives
put in ``--download-dir`` (``<scene>.zip``), ``--captions-from`` (written to
``<out>/captions.json``).
"""
import argparse
import csv
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Tuple

from converter_utils import (
    add_source_args,
    download,
    extract,
    install_json_captions,
    install_split_lists,
    run,
    write_lines,
)

SPLIT_CSV = 'metadata_images_split_scene_v1.csv'

SPLIT_CSV_URL = ('https://raw.githubusercontent.com/apple/ml-hypersim/main/evermotion_dataset/'
                 'analysis/metadata_images_split_scene_v1.csv')
SCENE_URL = ('https://docs-assets.developer.apple.com/ml-research/datasets/hypersim/v1/scenes/'
             '{scene}.zip')

Frame = Tuple[str, str, int]


def frames_from_csv(csv_path: str, partition: str = 'test') -> List[Frame]:
    """``(scene, camera, frame_id)`` of the public frames of ``partition``."""
    frames = []
    with open(csv_path, newline='') as f:
        for row in csv.DictReader(f):
            public = str(row['included_in_public_release']).strip().lower() in ('true', '1')
            if public and row['split_partition_name'].strip() == partition:
                frames.append((row['scene_name'].strip(), row['camera_name'].strip(),
                               int(row['frame_id'])))
    return frames


def frame_paths(frame: Frame) -> Tuple[str, str]:
    """Image and depth paths of a frame, relative to the dataset root."""
    scene, cam, idx = frame
    return (f'{scene}/images/scene_{cam}_final_preview/frame.{idx:04d}.tonemap.jpg',
            f'{scene}/images/scene_{cam}_geometry_hdf5/frame.{idx:04d}.depth_meters.hdf5')


def members_by_scene(frames: List[Frame]) -> Dict[str, List[str]]:
    """Archive members to extract per scene (the scene archives hold ``<scene>/images/...``)."""
    members = defaultdict(list)
    for frame in frames:
        members[frame[0]] += list(frame_paths(frame))
    return dict(members)


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/hypersim')
    parser.add_argument('--partition', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--download-dir', default='data/downloads/hypersim')
    parser.add_argument('--max-scenes', type=int, default=None)
    parser.add_argument('--keep-zips', action='store_true')
    add_source_args(parser, splits=f'folder with {SPLIT_CSV}',
                    captions='captions: JSON {image: [captions]}, caption folder or archive')
    args = parser.parse_args(argv)
    if args.splits_from:
        csv_path = install_split_lists([SPLIT_CSV], args.download_dir, args.splits_from)[0]
    else:
        csv_path = download(SPLIT_CSV_URL, osp.join(args.download_dir, SPLIT_CSV),
                            hint='--splits-from DIR')
    frames = frames_from_csv(csv_path, args.partition)
    by_scene = members_by_scene(frames)
    scenes = sorted(by_scene)[:args.max_scenes]
    kept = []
    for scene in scenes:
        if not all(osp.isfile(osp.join(args.out, m)) for m in by_scene[scene]):
            archive = download(SCENE_URL.format(scene=scene),
                               osp.join(args.download_dir, f'{scene}.zip'))
            extract(archive, args.out, members=by_scene[scene])
            if not args.keep_zips:
                os.remove(archive)
        kept += [f for f in frames if f[0] == scene]
    write_lines(osp.join(args.out, 'splits', f'hypersim_{args.partition}.txt'),
                [frame_paths(f)[0] for f in kept])
    if args.captions_from:
        install_json_captions(args.captions_from, osp.join(args.out, 'captions.json'))
    return kept


if __name__ == '__main__':
    run(main)
