"""VOID-1500 (Wong et al. 2020): indoor/outdoor visual-inertial frames with dense-ish GT."""
import os.path as osp
from typing import List

from tr2m.datasets.base_dataset import BaseDepthDataset, read_matrix_intrinsics, read_split_file
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol


@DATASETS.register_module()
class VOIDDataset(BaseDepthDataset):
    """VOID-1500 from its release path lists.

    Layout under ``data_root`` (``data/void``)::

        void_1500/data/<sequence>/image/<timestamp>.png
        void_1500/data/<sequence>/ground_truth/<timestamp>.png     # uint16 / 256 m, 0 invalid
        void_1500/data/<sequence>/K.txt                            # 3x3 camera matrix
        void_1500/{train,test}_{image,ground_truth,intrinsics}.txt  # path lists (test: 800)

    The image list is the split file; ``<split>_ground_truth.txt`` and
    ``<split>_intrinsics.txt`` beside it give the GT and ``K.txt`` of each line (when absent,
    ``image`` -> ``ground_truth`` and ``<sequence>/K.txt`` are derived). Paths are relative to
    ``data_root``. Protocol: 0.2..5.0 m, no crop. Captions: RSA's
    ``text_all/void/<split>/void_1500/data/<sequence>/image/<timestamp>.txt``.
    """

    PROTOCOL = DepthProtocol(name='void', min_depth=0.2, max_depth=5.0)
    DEPTH_FORMAT = 'png_uint16'
    DEPTH_SCALE = 256.0
    DEFAULT_SPLITS = dict(
        train=dict(ann_file='void_1500/train_image.txt'),
        test=dict(ann_file='void_1500/test_image.txt'),
    )

    def _sibling_list(self, kind: str, n: int) -> List[str]:
        folder, name = osp.split(self.ann_file)
        path = osp.join(folder, name.replace('_image', f'_{kind}'))
        if path == self.ann_file or not osp.isfile(path):
            return []
        rows = [r[0] for r in read_split_file(path)]
        if len(rows) != n:
            raise ValueError(f'{path} has {len(rows)} lines, {self.ann_file} has {n}')
        return rows

    def load_entries(self) -> List[dict]:
        images = [r[0] for r in read_split_file(self.ann_file)]
        gts = self._sibling_list('ground_truth', len(images)) or [
            img.replace('/image/', '/ground_truth/') for img in images]
        ks = self._sibling_list('intrinsics', len(images)) or [
            osp.join(osp.dirname(osp.dirname(img)), 'K.txt') for img in images]
        cache, entries = {}, []
        for img, gt, k in zip(images, gts, ks):
            if k not in cache:
                k_path = osp.join(self.img_root, k)
                cache[k] = read_matrix_intrinsics(k_path) if osp.isfile(k_path) else None
            entries.append(dict(img=img, depth=gt, intrinsics=cache[k]))
        return entries
