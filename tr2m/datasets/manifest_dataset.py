"""``DepthManifestDataset``: RGB-D frames listed in a JSON manifest."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from tr2m.datasets.base_dataset import check_sample_files
from tr2m.datasets.seeding import SeededDrawsMixin
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol
from tr2m.utils.errors import DataError, MissingFileError
from tr2m.utils.files import load_json


@DATASETS.register_module()
class DepthManifestDataset(SeededDrawsMixin, BaseDataset):
    """Frames listed in a JSON manifest (``{"frames": [...]}`` or a plain list).

    Each frame is a dict with ``rgb`` and ``depth`` paths (relative to the manifest's folder),
    ``depth_format`` (a name registered in :mod:`tr2m.datasets.depth_io`), ``depth_scale``,
    ``K`` = ``[fx, fy, cx, cy]`` or null, and optionally ``dataset``, ``scene_type``,
    ``captions`` (list of str), ``caption`` (str) and ``rel_depth`` (path of a cached ``.npy``).
    This is the format of ``../shared/data/rgbd_real/manifest.json`` and of the synthetic demo set.

    Args:
        ann_file (str): the manifest, relative to ``data_root``.
        data_root (str): folder the manifest's paths are relative to.
        datasets (Sequence[str], optional): keep only frames whose ``dataset`` is listed.
        protocol (dict | DepthProtocol, optional): evaluation protocol of every frame (keys of
            :class:`~tr2m.structures.DepthProtocol`); missing keys take the default
            ``DepthProtocol()`` (1e-3 m .. no bound, no crop, metres).
        protocols (dict, optional): per-``dataset`` protocol overrides (dicts of protocol
            keys over ``protocol``, or whole protocols), for mixed manifests.
        dataset_name (str, optional): name recorded with each sample when the frame has none.
        check_files (bool): when the dataset is built, check that every listed image, depth map
            and cached relative depth exists. Defaults to True.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``pipeline``, ``indices``,
            ``test_mode``, ``serialize_data``, ...).
    """

    def __init__(self, ann_file: str, data_root: str = '',
                 datasets: Optional[Sequence[str]] = None,
                 protocol: Union[dict, DepthProtocol, None] = None,
                 protocols: Optional[Dict[str, dict]] = None,
                 dataset_name: Optional[str] = None, check_files: bool = True,
                 **kwargs) -> None:
        self._init_draw_state()
        self.check_files = check_files
        self.datasets = None if datasets is None else list(datasets)
        self.protocol = DepthProtocol.coerce(protocol, f'{type(self).__name__} protocol')
        self.protocols = {name: over if isinstance(over, DepthProtocol) else
                          DepthProtocol.from_dict(over, base=self.protocol,
                                                  owner=f'{type(self).__name__} '
                                                        f'protocols[{name!r}]')
                          for name, over in (protocols or {}).items()}
        self.dataset_name = dataset_name
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        path = self.ann_file
        if not osp.isfile(path):
            raise MissingFileError(f'manifest not found: {path} (data_root '
                                   f'{self.data_root!r}; is the dataset root right?)')
        manifest = load_json(path, 'manifest')  # not UTF-8 / not JSON: one line naming it
        frames = manifest.get('frames') if isinstance(manifest, dict) else manifest
        if not isinstance(frames, list):
            raise DataError(f'manifest {path} must hold {{"frames": [...]}} or a list of '
                            f'frames, got {type(manifest).__name__}'
                            + (' without a "frames" list' if isinstance(manifest, dict) else ''))
        root = self.data_root or osp.dirname(path)
        data_list = []
        for i, frame in enumerate(frames):
            if not isinstance(frame, dict):
                raise DataError(f'manifest {path}: frame {i} is a {type(frame).__name__}, not '
                                'an object {"rgb": ..., "depth": ...}')
            missing = [k for k in ('rgb', 'depth') if k not in frame]
            if missing:
                raise DataError(f'manifest {path}: frame {i} has no {missing}')
            name = frame.get('dataset', self.dataset_name or 'manifest')
            if self.datasets is not None and name not in self.datasets:
                continue
            captions = frame.get('captions')
            if captions is None and frame.get('caption') is not None:
                captions = [frame['caption']]
            info = dict(
                img_path=osp.join(root, frame['rgb']),
                depth_path=osp.join(root, frame['depth']),
                depth_format=frame.get('depth_format', 'png_uint16'),
                depth_scale=frame.get('depth_scale'),
                intrinsics=list(frame['K']) if frame.get('K') else None,
                dataset_name=name,
                scene_type=frame.get('scene_type'),
                captions=list(captions) if captions else [],
                protocol=self.protocols.get(name, self.protocol),
            )
            if frame.get('rel_depth'):
                info['rel_depth_path'] = osp.join(root, frame['rel_depth'])
            data_list.append(info)
        if not data_list:
            raise DataError(f'no frames selected from {path} (datasets={self.datasets})')
        if self.check_files:
            check_sample_files(data_list, type(self).__name__, f'the manifest {path}')
        return data_list
