"""NYU Depth v2 in the BTS layout: the "sync" training set and the official 654-image test set."""
from typing import List

from tr2m.datasets.base_dataset import BaseDepthDataset, read_split_file, strip_leading_slash
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol


@DATASETS.register_module()
class NYUv2Dataset(BaseDepthDataset):
    """NYU Depth v2 (Silberman et al. 2012) as BTS distributes it.

    Layout under ``data_root`` (``data/nyu``; see ``tools/dataset_converters/README.md``)::

        sync/<scene>/rgb_00045.jpg, sync/<scene>/sync_depth_00045.png     # train, 24,231
        official_splits/test/<scene>/rgb_00045.jpg, .../sync_depth_00045.png  # test, 654
        splits/nyudepthv2_train_files_with_gt.txt                          # BTS lists:
        splits/nyudepthv2_test_files_with_gt.txt                           # rgb depth focal

    Split lines are ``rgb depth focal`` (BTS writes train paths with a leading ``/``). Depth is
    uint16 PNG in millimetres (/1000). Intrinsics: ``fx`` from the line, ``fy, cx, cy`` of the
    Kinect colour camera. Protocol: 1e-3..10 m with the Eigen crop (pass
    ``protocol=dict(crop=None)`` for RSA's uncropped numbers). Captions: RSA's
    ``text_all/nyu/<split>/<scene>/rgb_XXXXX.txt``.
    """

    PROTOCOL = DepthProtocol(name='nyu', min_depth=1e-3, max_depth=10.0, crop='eigen')
    DEPTH_FORMAT = 'png_uint16'
    DEPTH_SCALE = 1000.0
    INTRINSICS = [518.8579, 519.46961, 325.58245, 253.73617]
    SCENE_TYPE = 'indoor'
    DEFAULT_SPLITS = dict(
        train=dict(ann_file='splits/nyudepthv2_train_files_with_gt.txt',
                   data_prefix=dict(img_path='sync', depth_path='sync')),
        test=dict(ann_file='splits/nyudepthv2_test_files_with_gt.txt',
                  data_prefix=dict(img_path='official_splits/test',
                                   depth_path='official_splits/test')),
    )

    def load_entries(self) -> List[dict]:
        entries = []
        fy, cx, cy = self.INTRINSICS[1:]
        for fields in read_split_file(self.ann_file, min_fields=2):
            entry = dict(img=strip_leading_slash(fields[0]),
                         depth=strip_leading_slash(fields[1]))
            if len(fields) > 2:
                entry['intrinsics'] = [float(fields[2]), fy, cx, cy]
            entries.append(entry)
        return entries
