"""``DepthFolderDataset``: your own RGB-D data in a plain folder layout."""
import glob
import json
import os.path as osp
from typing import List, Optional, Sequence

from tr2m.datasets.base_dataset import BaseDepthDataset
from tr2m.datasets.captions import normalise_key
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol

_IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.ppm')
#: File extension of the depth maps of each format (``DepthFolderDataset`` pairs by stem).
DEPTH_EXTS = {
    'png_uint16': '.png', 'png_uint16_65535_invalid': '.png', 'png_uint16_simcol': '.png',
    'png_uint16_sunrgbd_bitshift': '.png', 'png_uint16_ibims': '.png',
    'tiff_uint16_c3vd': '.tiff', 'npy': '.npy', 'hdf5_hypersim_distance': '.hdf5',
    'pgm_le_uint16_kinect_raw_disparity': '.pgm',
}


@DATASETS.register_module()
class DepthFolderDataset(BaseDepthDataset):
    """Custom data: images and depth maps paired by relative path in two folders.

    Layout under ``data_root``::

        rgb/<any/sub/path>/<name>.jpg|png       # images (sub-folders allowed)
        depth/<any/sub/path>/<name>.png         # depth with the same relative stem
        captions.json                           # optional: {"<path under rgb/>": ["...", ...]}
        intrinsics.json                         # optional: [fx, fy, cx, cy] for all images, or
                                                #   {"<path under rgb/>": [fx, fy, cx, cy]}

    Images without a depth map are an error (``allow_missing_depth=True`` drops them). When
    ``captions.json`` exists and no ``caption_source`` is given, it is used as a
    ``JSONCaptionSource``. Say how depth is stored with ``depth_format`` / ``depth_scale``
    (default: uint16 PNG in millimetres, ``png_uint16`` / 1000) and how to evaluate with
    ``protocol`` (default 1e-3 m .. no bound, no crop, metres).

    Example::

        dict(type='DepthFolderDataset', data_root='data/my_robot', depth_scale=1000.0,
             protocol=dict(name='my_robot', max_depth=10.0), pipeline=test_pipeline)

    Args:
        img_dir (str): image folder under ``data_root``. Defaults to 'rgb'.
        depth_dir (str): depth folder under ``data_root``. Defaults to 'depth'.
        depth_ext (str, optional): depth file extension; defaults from the format.
        allow_missing_depth (bool): drop images without depth instead of raising.
        **kwargs: :class:`BaseDepthDataset` arguments.
    """

    PROTOCOL = DepthProtocol(name='custom', min_depth=1e-3, max_depth=None)
    DEPTH_FORMAT = 'png_uint16'
    DEPTH_SCALE = 1000.0

    def __init__(self, data_root: str = '', img_dir: str = 'rgb', depth_dir: str = 'depth',
                 depth_ext: Optional[str] = None, allow_missing_depth: bool = False,
                 caption_source=None, split: str = 'custom', **kwargs) -> None:
        self.depth_ext = depth_ext
        self.allow_missing_depth = allow_missing_depth
        captions_json = osp.join(data_root, 'captions.json')
        if caption_source is None and osp.isfile(captions_json):
            caption_source = dict(type='JSONCaptionSource', ann_file=captions_json)
        kwargs.setdefault('data_prefix', dict(img_path=img_dir, depth_path=depth_dir))
        super().__init__(data_root=data_root, caption_source=caption_source, split=split,
                         **kwargs)

    def _intrinsics_table(self):
        path = osp.join(self.data_root, 'intrinsics.json')
        if not osp.isfile(path):
            return None
        with open(path) as f:
            table = json.load(f)
        if isinstance(table, Sequence) and len(table) == 4:
            return {'*': [float(v) for v in table]}
        if isinstance(table, dict):
            return {normalise_key(k): [float(v) for v in vals] for k, vals in table.items()}
        raise ValueError(f'{path}: expected [fx, fy, cx, cy] or {{image: [fx, fy, cx, cy]}}')

    def load_entries(self) -> List[dict]:
        if not osp.isdir(self.img_root):
            raise FileNotFoundError(f'image folder not found: {self.img_root}')
        ext = self.depth_ext or DEPTH_EXTS.get(self.depth_format)
        if ext is None:
            raise ValueError(f'give depth_ext for depth_format {self.depth_format!r}')
        table = self._intrinsics_table() or {}
        entries = []
        for path in sorted(glob.glob(osp.join(self.img_root, '**', '*'), recursive=True)):
            if osp.splitext(path)[1].lower() not in _IMG_EXTS:
                continue
            rel = osp.relpath(path, self.img_root).replace(osp.sep, '/')
            depth = osp.splitext(rel)[0] + ext
            if not osp.isfile(osp.join(self.depth_root, depth)):
                if self.allow_missing_depth:
                    continue
                raise FileNotFoundError(f'no depth map for image {path}: expected '
                                        f'{osp.join(self.depth_root, depth)}')
            entries.append(dict(img=rel, depth=depth, intrinsics=table.get(rel, table.get('*'))))
        return entries
