"""Builders of temporary copies of each dataset's public layout, built from the real frames of
``../shared/data/rgbd_real`` renamed to real split entries (RSA's split files) and RSA's real
captions for those entries. Nothing from ``../shared`` is copied into the repository: the trees
live under pytest's temporary folder (symlinks where the bytes are used as they are).
"""
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import cv2
import h5py
import numpy as np

from tr2m.datasets.depth_io import read_depth

NYU_K = [518.8579, 519.46961, 325.58245, 253.73617]
SEVEN_SCENES_K = [585.0, 585.0, 320.0, 240.0]


def frames_of(manifest, dataset):
    return [f for f in manifest if f['dataset'] == dataset]


def split_lines(rsa_text: Path, name: str):
    return [line.split() for line in (rsa_text / 'data_splits' / name).read_text().splitlines()
            if line.strip()]


def rsa_captions(rsa_text: Path, dataset: str, key: str, split: str = 'test'):
    """The lines of RSA's caption file of image ``key`` (as RSACaptionSource must read them)."""
    path = rsa_text / 'text' / 'text_all' / dataset / split / (os.path.splitext(key)[0] + '.txt')
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dst)


def _copy_caption(rsa_text: Path, text_root: Path, dataset: str, key: str,
                  dst_split: str = 'test', dst_key: str = None) -> None:
    stem = os.path.splitext(key)[0]
    src = rsa_text / 'text' / 'text_all' / dataset / 'test' / (stem + '.txt')
    dst_stem = os.path.splitext(dst_key or key)[0]
    dst = text_root / dataset / dst_split / (dst_stem + '.txt')
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _imwrite(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), arr), path


def build_trees(root: Path, rgbd_real: Path, rgbd_manifest: list, rsa_text: Path):
    """Every dataset's layout under ``root``, plus what the tests compare against."""
    text_root = root / 'rsa_text' / 'text' / 'text_all'
    t = SimpleNamespace(root=root, text_root=text_root)
    nyu = frames_of(rgbd_manifest, 'nyu_v2')
    kitti = frames_of(rgbd_manifest, 'kitti')
    kitchen = frames_of(rgbd_manifest, '7scenes_redkitchen')
    sun = frames_of(rgbd_manifest, 'sun_rgbd')[0]

    # NYUv2: official test layout + BTS sync train layout (leading "/" in the train list).
    t.nyu = root / 'nyu'
    t.nyu_test = split_lines(rsa_text, 'nyudepthv2_test_files_with_gt.txt')[:3]
    for (rgb, depth, _), frame in zip(t.nyu_test, nyu):
        _link(rgbd_real / frame['rgb'], t.nyu / 'official_splits/test' / rgb)
        _link(rgbd_real / frame['depth'], t.nyu / 'official_splits/test' / depth)
        _copy_caption(rsa_text, text_root, 'nyu', rgb)
    _write(t.nyu / 'splits/nyudepthv2_test_files_with_gt.txt',
           ''.join(' '.join(line) + '\n' for line in t.nyu_test))
    t.nyu_train = [('kitchen_0028b/rgb_00045.jpg', 'kitchen_0028b/sync_depth_00045.png'),
                   ('kitchen_0028b/rgb_00046.jpg', 'kitchen_0028b/sync_depth_00046.png')]
    for (rgb, depth), frame, test_line in zip(t.nyu_train, nyu, t.nyu_test):
        _link(rgbd_real / frame['rgb'], t.nyu / 'sync' / rgb)
        _link(rgbd_real / frame['depth'], t.nyu / 'sync' / depth)
        _copy_caption(rsa_text, text_root, 'nyu', test_line[0], 'train', rgb)
    _write(t.nyu / 'splits/nyudepthv2_train_files_with_gt.txt',
           ''.join(f'/{rgb} /{depth} 518.8579\n' for rgb, depth in t.nyu_train))
    t.nyu_frames = nyu

    # KITTI: raw + merged annotated GT; RSA's first three 2011_09_28 test lines, one "None".
    t.kitti = root / 'kitti'
    lines = split_lines(rsa_text, 'eigen_test_files_with_gt.txt')
    t.kitti_test = [line for line in lines if line[0].startswith('2011_09_28/')][:3]
    for (rgb, depth, _), frame in zip(t.kitti_test, kitti):
        _link(rgbd_real / frame['rgb'], t.kitti / 'raw' / rgb)
        _link(rgbd_real / frame['depth'], t.kitti / 'data_depth_annotated' / depth)
        _copy_caption(rsa_text, text_root, 'kitti', rgb)
        _copy_caption(rsa_text, text_root, 'kitti', rgb, 'train')
    no_gt = '2011_09_26/2011_09_26_drive_0001_sync/image_02/data/0000000000.png None 721.5377'
    _write(t.kitti / 'splits/eigen_test_files_with_gt.txt',
           ''.join(' '.join(line) + '\n' for line in t.kitti_test) + no_gt + '\n')
    # a train list in the variant without the leading <date>/ folder
    _write(t.kitti / 'splits/eigen_train_files_with_gt.txt',
           ''.join(f"{rgb.split('/', 1)[1]} {depth} {f}\n" for rgb, depth, f in t.kitti_test))
    t.kitti_frames = kitti

    # VOID-1500: 7-Scenes frames re-encoded (PNG image, GT as uint16 / 256 m, K.txt).
    t.void = root / 'void'
    void_lists = {k: [r[0] for r in split_lines(rsa_text, f'void/test_{k}.txt')[:3]]
                  for k in ('image', 'ground_truth', 'intrinsics')}
    t.void_test, t.void_depth = void_lists['image'], []
    k_text = (rgbd_real / '7scenes_redkitchen/camera-intrinsics.txt').read_text()
    for img, gt, k, frame in zip(void_lists['image'], void_lists['ground_truth'],
                                 void_lists['intrinsics'], kitchen[:3]):
        _imwrite(t.void / img, cv2.imread(str(rgbd_real / frame['rgb'])))
        depth_m, valid = read_depth(str(rgbd_real / frame['depth']), frame['depth_format'],
                                    frame['depth_scale'])
        raw = np.where(valid, np.round(depth_m * 256.0), 0).astype(np.uint16)
        _imwrite(t.void / gt, raw)
        t.void_depth.append(np.where(valid, depth_m, 0))
        _write(t.void / k, k_text)
        _copy_caption(rsa_text, text_root, 'void', img)
        _copy_caption(rsa_text, text_root, 'void', img, 'train')
    for split in ('test', 'train'):
        for kind, rows in void_lists.items():
            _write(t.void / f'void_1500/{split}_{kind}.txt', ''.join(r + '\n' for r in rows))

    # C3VD: 16-bit TIFF with known millimetres (7-Scenes depth / 50 -> 10..80 mm).
    t.c3vd = root / 'c3vd'
    t.c3vd_images = ['cecum_t1_a/0000_color.png', 'sigmoid_t3_b/0000_color.png']
    t.c3vd_raw = []
    for img, frame in zip(t.c3vd_images, kitchen[3:5]):
        _imwrite(t.c3vd / img, cv2.imread(str(rgbd_real / frame['rgb'])))
        depth_m, valid = read_depth(str(rgbd_real / frame['depth']), frame['depth_format'],
                                    frame['depth_scale'])
        mm = np.clip(depth_m * 1000.0 / 50.0, 0, 100)
        raw = np.where(valid, np.round(mm / 100.0 * 65535), 0).astype(np.uint16)
        _imwrite(t.c3vd / img.replace('_color.png', '_depth.tiff'), raw)
        t.c3vd_raw.append(raw)
    _write(t.c3vd / 'splits/c3vd_train.txt', t.c3vd_images[0] + '\n')
    _write(t.c3vd / 'splits/c3vd_test.txt', t.c3vd_images[1] + '\n')

    # SimCol: 475 x 475 frames, uint16 PNG depth with 0..65535 = 0..200 mm.
    t.simcol = root / 'simcol'
    seq = 'SyntheticColon_II/Frames_B5'
    t.simcol_raw = []
    for i, frame in enumerate(kitchen[5:7]):
        rgb = cv2.resize(cv2.imread(str(rgbd_real / frame['rgb'])), (475, 475),
                         interpolation=cv2.INTER_AREA)
        _imwrite(t.simcol / seq / f'FrameBuffer_{i:04d}.png', rgb)
        depth_m, valid = read_depth(str(rgbd_real / frame['depth']), frame['depth_format'],
                                    frame['depth_scale'])
        mm = np.clip(depth_m * 1000.0 / 25.0, 0, 200)
        raw = np.where(valid, np.round(mm / 200.0 * 65535), 0).astype(np.uint16)
        raw = cv2.resize(raw, (475, 475), interpolation=cv2.INTER_NEAREST)
        _imwrite(t.simcol / seq / f'Depth_{i:04d}.png', raw)
        t.simcol_raw.append(raw)
    _write(t.simcol / 'misc/test_file.txt', f'Test sequences\n{seq}\n')

    # SUN RGB-D: the real bit-rotated frame in the release layout.
    t.sun = root / 'sunrgbd'
    frame_dir = t.sun / 'SUNRGBD/kv1/NYUdata/NYU0001'
    _link(rgbd_real / sun['rgb'], frame_dir / 'image/NYU0001.jpg')
    _link(rgbd_real / sun['depth'], frame_dir / 'depth/NYU0001.png')
    t.sun_k = [518.857901, 519.469611, 284.582449, 208.736166]
    _write(frame_dir / 'intrinsics.txt', '518.857901 0 284.582449\n0 519.469611 208.736166\n'
                                         '0 0 1\n')
    _write(t.sun / 'splits/sunrgbd_test.txt', 'kv1/NYUdata/NYU0001\n')
    t.sun_frame = sun

    # iBims-1: an NYU frame stored as iBims does (raw * 50 / 65535 m) with the two masks.
    t.ibims = root / 'ibims'
    core = t.ibims / 'ibims1_core_raw'
    depth_m, valid = read_depth(str(rgbd_real / nyu[0]['depth']), 'png_uint16', 1000.0)
    _imwrite(core / 'rgb/corridor_01.png', cv2.imread(str(rgbd_real / nyu[0]['rgb'])))
    t.ibims_raw = np.where(valid, np.round(depth_m * 65535 / 50), 0).astype(np.uint16)
    _imwrite(core / 'depth/corridor_01.png', t.ibims_raw)
    _imwrite(core / 'mask_invalid/corridor_01.png', valid.astype(np.uint8) * 255)
    transp = np.ones_like(valid, np.uint8)
    transp[100:200, 300:400] = 0  # a "window"
    _imwrite(core / 'mask_transp/corridor_01.png', transp)
    t.ibims_valid = valid & (transp > 0)
    _write(core / 'calib/corridor_01.txt', '518.8579 0 325.58245\n0 519.46961 253.73617\n0 0 1\n')
    _write(core / 'imagelist.txt', 'corridor_01\n')

    # HyperSim: ray distance (float16, NaN invalid) computed from a real NYU depth frame.
    t.hypersim = root / 'hypersim'
    t.hypersim_img = 'ai_001_010/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg'
    depth_m, valid = read_depth(str(rgbd_real / nyu[1]['depth']), 'png_uint16', 1000.0)
    fx, fy, cx, cy = NYU_K
    v, u = np.mgrid[0:depth_m.shape[0], 0:depth_m.shape[1]]
    dist = depth_m * np.sqrt(1 + ((u - cx) / fx) ** 2 + ((v - cy) / fy) ** 2)
    dist = np.where(valid, dist, np.nan).astype(np.float16)
    h5_path = t.hypersim / ('ai_001_010/images/scene_cam_00_geometry_hdf5/'
                            'frame.0000.depth_meters.hdf5')
    h5_path.parent.mkdir(parents=True)
    with h5py.File(h5_path, 'w') as f:
        f.create_dataset('dataset', data=dist)
    _link(rgbd_real / nyu[1]['rgb'], t.hypersim / t.hypersim_img)
    _write(t.hypersim / 'splits/hypersim_test.txt', t.hypersim_img + '\n')
    t.hypersim_depth, t.hypersim_valid = depth_m, valid

    # DIODE outdoor: a KITTI frame as .npy depth (H, W, 1) + mask.
    t.diode = root / 'diode'
    stem = t.diode / 'val/outdoor/scene_00022/scan_00193/00022_00193_outdoor_000_010'
    _link(rgbd_real / kitti[0]['rgb'], Path(str(stem) + '.png'))
    depth_m, valid = read_depth(str(rgbd_real / kitti[0]['depth']), 'png_uint16', 256.0)
    np.save(str(stem) + '_depth.npy', depth_m[..., None].astype(np.float32))
    np.save(str(stem) + '_depth_mask.npy', valid.astype(np.float32))
    t.diode_depth, t.diode_valid = depth_m, valid
    t.diode_img = 'val/outdoor/scene_00022/scan_00193/00022_00193_outdoor_000_010.png'

    # Captions for the zero-shot sets: JSON files, as a user would generate them.
    t.zero_shot_captions = {
        'sunrgbd': {'kv1/NYUdata/NYU0001/image/NYU0001.jpg': ['A room with a table.']},
        'ibims': {'corridor_01.png': ['A long corridor.', 'A hallway with doors.']},
        'hypersim': {t.hypersim_img: ['A rendered living room.']},
        'diode': {t.diode_img: ['A street with parked cars.']},
    }
    for name, table in t.zero_shot_captions.items():
        _write(getattr(t, name if name != 'sunrgbd' else 'sun') / 'captions.json',
               json.dumps(table))
    return t
