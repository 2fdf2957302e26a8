"""SimCol3D (Rau et al. 2023): synthetic colonoscopy with rendered depth, in millimetres."""
import glob
import os.path as osp
import re
from typing import List

from tr2m.datasets.base_dataset import BaseDepthDataset, read_split_file
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol

#: The challenge's test sequences (``misc/test_file.txt``).
SIMCOL_TEST_SEQUENCES = (
    'SyntheticColon_I/Frames_S5', 'SyntheticColon_I/Frames_S10', 'SyntheticColon_I/Frames_S15',
    'SyntheticColon_II/Frames_B5', 'SyntheticColon_II/Frames_B10', 'SyntheticColon_II/Frames_B15',
    'SyntheticColon_III/Frames_O1', 'SyntheticColon_III/Frames_O2', 'SyntheticColon_III/Frames_O3',
)
_SEQUENCE = re.compile(r'^SyntheticColon_I{1,3}/Frames_[A-Z]\d+/?$')


@DATASETS.register_module()
class SimColDataset(BaseDepthDataset):
    """SimCol3D depth frames.

    Layout under ``data_root`` (``data/simcol``) as released::

        SyntheticColon_I/Frames_S1/FrameBuffer_0000.png, Depth_0000.png, ...
        SyntheticColon_II/Frames_B1/..., SyntheticColon_III/Frames_O1/...
        misc/train_file.txt, misc/test_file.txt        # one sequence folder per line

    A split file may list sequence folders (``SyntheticColon_I/Frames_S5``; other lines such
    as headers are ignored) or image paths (``.../FrameBuffer_0000.png``). Depth: uint16 PNG,
    0..65535 = 0..200 mm (20 cm), reported in mm. Camera: 475 x 475 pinhole with
    ``fx = fy = 227.60416``, principal point at the centre (237.5, 237.5). Protocol: (0, 200] mm,
    no crop. Captions: ``TemplateCaptionSource(preset='simcol')``.
    """

    PROTOCOL = DepthProtocol(name='simcol', min_depth=0.0, max_depth=200.0, units='mm')
    DEPTH_FORMAT = 'png_uint16_simcol'
    INTRINSICS = [227.60416, 227.60416, 237.5, 237.5]
    SCENE_TYPE = 'endoscopic'
    DEFAULT_SPLITS = dict(
        train=dict(ann_file='misc/train_file.txt'),
        test=dict(ann_file='misc/test_file.txt'),
    )

    def load_entries(self) -> List[dict]:
        images = []
        for fields in read_split_file(self.ann_file):
            item = fields[0].strip('/')
            if item.endswith('.png'):
                images.append(item)
            elif _SEQUENCE.match(item):
                found = sorted(glob.glob1(osp.join(self.img_root, item), 'FrameBuffer_*.png'))
                if not found:
                    raise FileNotFoundError(
                        f'no FrameBuffer_*.png in {osp.join(self.img_root, item)} '
                        f'(listed in {self.ann_file})')
                images += [f'{item}/{name}' for name in found]
        entries = []
        for img in images:
            folder, name = osp.split(img)
            if not name.startswith('FrameBuffer_'):
                raise ValueError(f'SimCol images are named FrameBuffer_XXXX.png: {img}')
            depth = f"{folder}/{name.replace('FrameBuffer_', 'Depth_', 1)}"
            entries.append(dict(img=img, depth=depth))
        return entries
