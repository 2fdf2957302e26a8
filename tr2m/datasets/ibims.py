"""iBims-1 (Koch et al. 2018): 100 indoor images with laser-scanned depth, zero-shot."""
import os.path as osp
from typing import List

from tr2m.datasets.base_dataset import BaseDepthDataset, read_matrix_intrinsics, read_split_file
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol


@DATASETS.register_module()
class IBims1Dataset(BaseDepthDataset):
    """iBims-1 ``ibims1_core_raw``.

    Layout under ``data_root`` (``data/ibims``)::

        ibims1_core_raw/rgb/<name>.png, depth/<name>.png
        ibims1_core_raw/mask_invalid/<name>.png, mask_transp/<name>.png
        ibims1_core_raw/calib/<name>.txt                   # optional camera matrix
        ibims1_core_raw/imagelist.txt                      # the 100 names

    Depth: uint16 PNG, ``raw * 50 / 65535`` m; pixels outside ``mask_invalid`` or on
    transparent objects (``mask_transp``) are invalid (format ``png_uint16_ibims``).
    Protocol: 0..10 m, Eigen crop.
    """

    PROTOCOL = DepthProtocol(name='ibims1', min_depth=0.0, max_depth=10.0, crop='eigen')
    DEPTH_FORMAT = 'png_uint16_ibims'
    SCENE_TYPE = 'indoor'
    DEFAULT_SPLITS = dict(
        test=dict(ann_file='ibims1_core_raw/imagelist.txt',
                  data_prefix=dict(img_path='ibims1_core_raw/rgb',
                                   depth_path='ibims1_core_raw/depth')),
    )

    def load_entries(self) -> List[dict]:
        calib_root = osp.join(osp.dirname(self.img_root.rstrip('/')), 'calib')
        entries = []
        for fields in read_split_file(self.ann_file):
            for name in fields:  # the release's list may hold several names per line
                stem = osp.splitext(name)[0]
                calib = osp.join(calib_root, stem + '.txt')
                intr = read_matrix_intrinsics(calib) if osp.isfile(calib) else None
                entries.append(dict(img=stem + '.png', depth=stem + '.png', intrinsics=intr))
        return entries
