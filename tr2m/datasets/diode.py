"""DIODE (Vasiljevic et al. 2019): laser-scanned indoor and outdoor scenes, zero-shot."""
import glob
import os.path as osp
from typing import List

from tr2m.datasets.base_dataset import BaseDepthDataset, read_split_file
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol

_SCENE_DIRS = dict(outdoor='outdoor', indoor='indoors')


@DATASETS.register_module()
class DIODEDataset(BaseDepthDataset):
    """DIODE validation set (the benchmark split; 446 outdoor, 325 indoor images).

    Layout under ``data_root`` (``data/diode``) as released (``val.tar.gz``)::

        val/outdoor/scene_XXXXX/scan_XXXXX/<name>.png, <name>_depth.npy, <name>_depth_mask.npy
        val/indoors/scene_XXXXX/scan_XXXXX/...
        splits/diode_val_outdoor.txt, splits/diode_val_indoor.txt   # optional image lists

    Without a split file the ``val/<outdoor|indoors>`` tree is scanned (sorted). Depth: float
    ``.npy`` in metres, ``(H, W, 1)``, with the validity mask ``<name>_depth_mask.npy`` (format
    ``npy``). Camera: ``fx = 886.81``, ``fy = 927.06``, ``cx = 512``, ``cy = 384`` (1024 x 768).
    Protocols: outdoor 1e-3..80 m with the Garg crop (docs/user_guides/datasets.md); indoor
    (tr2m's choice, following the NYUv2 convention) 1e-3..10 m with the Eigen crop.

    Args:
        scene_type (str): ``'outdoor'`` (default) or ``'indoor'``.
        **kwargs: :class:`BaseDepthDataset` arguments (``split`` defaults to ``'val'``).
    """

    PROTOCOLS = dict(
        outdoor=DepthProtocol(name='diode_outdoor', min_depth=1e-3, max_depth=80.0, crop='garg'),
        indoor=DepthProtocol(name='diode_indoor', min_depth=1e-3, max_depth=10.0, crop='eigen'),
    )
    PROTOCOL = PROTOCOLS['outdoor']
    DEPTH_FORMAT = 'npy'
    INTRINSICS = [886.81, 927.06, 512.0, 384.0]
    SCENE_TYPE = 'outdoor'
    DEFAULT_SPLITS = dict(val=dict(ann_file=''), test=dict(ann_file=''))

    def __init__(self, *args, scene_type: str = 'outdoor', split: str = 'val',
                 **kwargs) -> None:
        if scene_type not in _SCENE_DIRS:
            raise ValueError(f"scene_type must be 'outdoor' or 'indoor', got {scene_type!r}")
        self.scene_type = scene_type
        self.PROTOCOL = self.PROTOCOLS[scene_type]  # instance attribute: read by the base
        self.SCENE_TYPE = scene_type
        super().__init__(*args, split=split, **kwargs)

    def _scan(self) -> List[str]:
        folder = f'val/{_SCENE_DIRS[self.scene_type]}'
        root = osp.join(self.img_root, folder)
        if not osp.isdir(root):
            raise FileNotFoundError(f'DIODE folder not found: {root}')
        found = sorted(glob.glob(osp.join(root, '**', '*.png'), recursive=True))
        return [osp.relpath(p, self.img_root).replace(osp.sep, '/') for p in found]

    def load_entries(self) -> List[dict]:
        if self.ann_file:
            images = [r[0].strip('/') for r in read_split_file(self.ann_file)]
        else:
            images = self._scan()
        if not images:
            raise ValueError(f'no DIODE {self.scene_type} images under {self.img_root}')
        return [dict(img=img, depth=osp.splitext(img)[0] + '_depth.npy') for img in images]
