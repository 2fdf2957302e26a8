"""C3VD (Bobrow et al. 2023): colonoscopy phantom video with registered depth, in millimetres."""
import glob
import os.path as osp
from typing import List, Optional, Sequence

from tr2m.datasets.base_dataset import BaseDepthDataset, read_split_file
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol


@DATASETS.register_module()
class C3VDDataset(BaseDepthDataset):
    """C3VD registered videos.

    Layout under ``data_root`` (``data/c3vd``), one folder per sequence as released::

        <segment>_t<texture>_<video>/0000_color.png, 0000_depth.tiff, ...   # e.g. cecum_t1_a
        splits/c3vd_train.txt, splits/c3vd_test.txt     # lines: <sequence>/<NNNN>_color.png

    Without a split file (``ann_file=''``), every ``*_color.png`` of the listed ``sequences``
    (default: all folders) is used. Depth: 16-bit TIFF, 0..65535 = 0..100 mm, reported in mm.
    The release's camera is a fisheye (omnidirectional model), so there are no pinhole
    intrinsics unless given with ``intrinsics=``. Protocol: (0, 100] mm, no crop. Captions:
    ``TemplateCaptionSource(preset='c3vd')`` builds "The image shows a surgical scene of
    {segment} with texture type {n}." from the sequence name.

    Args:
        sequences (Sequence[str], optional): sequences to scan when there is no split file.
        **kwargs: :class:`BaseDepthDataset` arguments.
    """

    PROTOCOL = DepthProtocol(name='c3vd', min_depth=0.0, max_depth=100.0, units='mm')
    DEPTH_FORMAT = 'tiff_uint16_c3vd'
    SCENE_TYPE = 'endoscopic'
    DEFAULT_SPLITS = dict(
        train=dict(ann_file='splits/c3vd_train.txt'),
        test=dict(ann_file='splits/c3vd_test.txt'),
        all=dict(ann_file=''),
    )
    COLOR_SUFFIX = '_color.png'
    DEPTH_SUFFIX = '_depth.tiff'

    def __init__(self, *args, sequences: Optional[Sequence[str]] = None, **kwargs) -> None:
        self.sequences = None if sequences is None else list(sequences)
        super().__init__(*args, **kwargs)

    def _scan(self) -> List[str]:
        root = self.img_root
        seqs = self.sequences
        if seqs is None:
            seqs = sorted(d for d in glob.glob1(root, '*') if osp.isdir(osp.join(root, d)))
        images = []
        for seq in seqs:
            found = sorted(glob.glob1(osp.join(root, seq), '*' + self.COLOR_SUFFIX))
            if not found and self.sequences is not None:
                raise FileNotFoundError(f'no *{self.COLOR_SUFFIX} in {osp.join(root, seq)}')
            images += [f'{seq}/{name}' for name in found]
        return images

    def load_entries(self) -> List[dict]:
        if self.ann_file:
            images = [r[0] for r in read_split_file(self.ann_file)]
        else:
            images = self._scan()
        entries = []
        for img in images:
            if not img.endswith(self.COLOR_SUFFIX):
                raise ValueError(f'C3VD image paths end with {self.COLOR_SUFFIX}: {img}')
            depth = img[:-len(self.COLOR_SUFFIX)] + self.DEPTH_SUFFIX
            entries.append(dict(img=img, depth=depth))
        return entries
