"""SUN RGB-D (Song et al. 2015): four indoor sensors, zero-shot evaluation."""
import glob
import os.path as osp
from typing import List

from tr2m.datasets.base_dataset import BaseDepthDataset, read_matrix_intrinsics, read_split_file
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol


@DATASETS.register_module()
class SUNRGBDDataset(BaseDepthDataset):
    """SUN RGB-D in its release layout.

    Layout under ``data_root`` (``data/sunrgbd``)::

        SUNRGBD/<sensor>/.../<frame dir>/image/<name>.jpg
        SUNRGBD/<sensor>/.../<frame dir>/depth/<name>.png        # raw; depth_bfx/ = filled
        SUNRGBD/<sensor>/.../<frame dir>/intrinsics.txt          # 3x3 camera matrix
        splits/sunrgbd_test.txt                                  # 5,050 frame dirs

    A split line is a frame directory relative to ``SUNRGBD/`` (``kv1/NYUdata/NYU0001``; the
    converter writes them from the toolbox's ``allsplit.mat``) or ``rgb depth`` paths. Depth:
    uint16 PNG with the bits rotated by 3, ``((d >> 3) | (d << 13)) / 1000`` m. Image sizes
    differ between sensors (use batch size 1 or a fixed resize). Protocol: 0..8 m (deeper GT
    is invalid), Eigen crop.

    Args:
        depth_dir (str): ``'depth'`` (raw, default) or ``'depth_bfx'`` (hole-filled).
        **kwargs: :class:`BaseDepthDataset` arguments.
    """

    PROTOCOL = DepthProtocol(name='sunrgbd', min_depth=0.0, max_depth=8.0, crop='eigen')
    DEPTH_FORMAT = 'png_uint16_sunrgbd_bitshift'
    DEPTH_SCALE = 1000.0
    SCENE_TYPE = 'indoor'
    DEFAULT_SPLITS = dict(
        test=dict(ann_file='splits/sunrgbd_test.txt',
                  data_prefix=dict(img_path='SUNRGBD', depth_path='SUNRGBD')),
        train=dict(ann_file='splits/sunrgbd_train.txt',
                   data_prefix=dict(img_path='SUNRGBD', depth_path='SUNRGBD')),
    )

    def __init__(self, *args, depth_dir: str = 'depth', **kwargs) -> None:
        self.depth_dir = depth_dir
        super().__init__(*args, **kwargs)

    def _single(self, folder: str, pattern: str) -> str:
        found = sorted(glob.glob1(osp.join(self.img_root, folder), pattern))
        if len(found) != 1:
            raise FileNotFoundError(f'expected one {pattern} in '
                                    f'{osp.join(self.img_root, folder)}, found {found}')
        return f'{folder}/{found[0]}'

    def load_entries(self) -> List[dict]:
        entries = []
        for fields in read_split_file(self.ann_file):
            if len(fields) >= 2:
                img, depth = fields[0].strip('/'), fields[1].strip('/')
                frame = osp.dirname(osp.dirname(img))
            else:
                frame = fields[0].strip('/')
                img = self._single(f'{frame}/image', '*.jpg')
                depth = self._single(f'{frame}/{self.depth_dir}', '*.png')
            k_path = osp.join(self.img_root, frame, 'intrinsics.txt')
            intr = read_matrix_intrinsics(k_path) if osp.isfile(k_path) else None
            entries.append(dict(img=img, depth=depth, intrinsics=intr))
        return entries
