"""KITTI (Eigen split) with the annotated depth maps of the KITTI depth benchmark."""
import os.path as osp
import re
from typing import Dict, List, Optional

from mmengine.logging import print_log

from tr2m.datasets.base_dataset import BaseDepthDataset, read_split_file, strip_leading_slash
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol

#: ``fx, cx, cy`` of the rectified colour cameras (``P_rect_02``; ``P_rect_03`` shares them) per
#: recording day, from the raw data's ``calib_cam_to_cam.txt``.
KITTI_RECT_CAMERAS: Dict[str, List[float]] = {
    '2011_09_26': [721.5377, 609.5593, 172.854],
    '2011_09_28': [707.0493, 604.0814, 180.5066],
    '2011_09_29': [718.3351, 600.3891, 181.5122],
    '2011_09_30': [707.0912, 601.8873, 183.1104],
    '2011_10_03': [718.856, 607.1928, 185.2157],
}
_DATE = re.compile(r'(\d{4}_\d{2}_\d{2})_drive_\d{4}')


def kitti_date(path: str) -> Optional[str]:
    """Recording day (``2011_09_26``) of a raw-data or annotated-depth path, or None."""
    match = _DATE.search(path)
    return match.group(1) if match else None


def read_kitti_calib(path: str, camera: str = '02') -> List[float]:
    """``[fx, fy, cx, cy]`` of ``P_rect_<camera>`` in a raw ``calib_cam_to_cam.txt``."""
    with open(path) as f:
        for line in f:
            if line.startswith(f'P_rect_{camera}:'):
                p = [float(v) for v in line.split(':', 1)[1].split()]
                return [p[0], p[5], p[2], p[6]]
    raise KeyError(f'no P_rect_{camera} in {path}')


@DATASETS.register_module()
class KITTIDataset(BaseDepthDataset):
    """KITTI Eigen split: raw images with the annotated (semi-dense) ground truth.

    Layout under ``data_root`` (``data/kitti``)::

        raw/<date>/<date>_drive_XXXX_sync/image_02/data/0000000069.png    # KITTI raw
        raw/<date>/calib_cam_to_cam.txt                                    # optional
        data_depth_annotated/<date>_drive_XXXX_sync/proj_depth/groundtruth/image_02/...png
        splits/eigen_train_files_with_gt.txt, splits/eigen_test_files_with_gt.txt

    (``data_depth_annotated`` is the depth benchmark's ``train/`` and ``val/`` merged, as the
    converter lays it out.) Split lines are ``rgb depth focal``; depth paths are relative to the
    annotated tree; lines whose depth is ``None`` (no annotated GT: 45 of the 697 Eigen test
    frames) are skipped, leaving 652. Image paths without the leading ``<date>/`` are accepted.
    Depth: uint16 PNG / 256 m. Intrinsics: ``fx`` from the line; ``cx, cy`` from the day's
    ``calib_cam_to_cam.txt`` when present, else :data:`KITTI_RECT_CAMERAS`. Put ``KBCrop`` in
    the pipeline (352 x 1216). Protocol: 1e-3..80 m, Garg crop. Captions: RSA's
    ``text_all/kitti/<split>/<date>/<drive>/image_02/data/XXXXXXXXXX.txt``.
    """

    PROTOCOL = DepthProtocol(name='kitti', min_depth=1e-3, max_depth=80.0, crop='garg')
    DEPTH_FORMAT = 'png_uint16'
    DEPTH_SCALE = 256.0
    SCENE_TYPE = 'outdoor'
    DEFAULT_SPLITS = dict(
        train=dict(ann_file='splits/eigen_train_files_with_gt.txt',
                   data_prefix=dict(img_path='raw', depth_path='data_depth_annotated')),
        test=dict(ann_file='splits/eigen_test_files_with_gt.txt',
                  data_prefix=dict(img_path='raw', depth_path='data_depth_annotated')),
    )

    def _camera(self, date: Optional[str], image_dir: str, cache: dict) -> Optional[List[float]]:
        if date is None:
            return None
        if (date, image_dir) not in cache:
            calib = osp.join(self.img_root, date, 'calib_cam_to_cam.txt')
            if osp.isfile(calib):
                cache[date, image_dir] = read_kitti_calib(calib, image_dir[-2:])
            elif date in KITTI_RECT_CAMERAS:
                fx, cx, cy = KITTI_RECT_CAMERAS[date]
                cache[date, image_dir] = [fx, fx, cx, cy]
            else:
                cache[date, image_dir] = None
        return cache[date, image_dir]

    def load_entries(self) -> List[dict]:
        entries, no_gt, cache = [], 0, {}
        for fields in read_split_file(self.ann_file, min_fields=2):
            if fields[1] == 'None':
                no_gt += 1
                continue
            img = strip_leading_slash(fields[0])
            date = kitti_date(img)
            if date is not None and not img.startswith(date + '/'):
                img = f'{date}/{img}'  # some list versions omit the day folder
            camera = 'image_03' if '/image_03/' in img else 'image_02'
            intr = self._camera(date, camera, cache)
            if intr is not None and len(fields) > 2:
                intr = [float(fields[2]), float(fields[2])] + intr[2:]
            entries.append(dict(img=img, depth=strip_leading_slash(fields[1]), intrinsics=intr))
        if no_gt:
            print_log(f'KITTIDataset: skipped {no_gt} lines without ground truth in '
                      f'{self.ann_file}', logger='current')
        return entries
