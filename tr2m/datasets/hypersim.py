"""HyperSim (Roberts et al. 2021): photorealistic synthetic indoor scenes, zero-shot."""
import os.path as osp
from typing import List

from tr2m.datasets.base_dataset import BaseDepthDataset, read_split_file
from tr2m.datasets.depth_io import hypersim_default_intrinsics
from tr2m.registry import DATASETS
from tr2m.structures import DepthProtocol


def hypersim_depth_of(image: str) -> str:
    """``<scene>/images/scene_cam_XX_final_preview/frame.NNNN.tonemap.jpg`` ->
    ``<scene>/images/scene_cam_XX_geometry_hdf5/frame.NNNN.depth_meters.hdf5``."""
    folder, name = osp.split(image)
    if not folder.endswith('_final_preview') or not name.endswith('.tonemap.jpg'):
        raise ValueError(f'not a HyperSim tonemapped image path: {image}')
    folder = folder[:-len('_final_preview')] + '_geometry_hdf5'
    return f"{folder}/{name[:-len('.tonemap.jpg')]}.depth_meters.hdf5"


@DATASETS.register_module()
class HyperSimDataset(BaseDepthDataset):
    """HyperSim tonemapped images with the ``depth_meters`` HDF5 files.

    Layout under ``data_root`` (``data/hypersim``)::

        <scene>/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg
        <scene>/images/scene_cam_00_geometry_hdf5/frame.0000.depth_meters.hdf5
        splits/hypersim_test.txt        # image paths (or "image depth"), from the official
                                        # metadata_images_split_scene_v1.csv, test partition

    ``depth_meters`` holds the distance along each pixel's ray, not planar depth; format
    ``hdf5_hypersim_distance`` converts it with the intrinsics:
    ``depth = dist / sqrt(1 + ((u - cx) / fx)^2 + ((v - cy) / fy)^2)``. Default camera: 1024 x 768
    with a 60 degree horizontal field of view (``fx = fy = 886.81``, ``cx = 511.5``,
    ``cy = 383.5``); the few scenes with other cameras need ``intrinsics=``. NaN is invalid.
    Protocol: 1e-3..80 m, Eigen crop.
    """

    PROTOCOL = DepthProtocol(name='hypersim', min_depth=1e-3, max_depth=80.0, crop='eigen')
    DEPTH_FORMAT = 'hdf5_hypersim_distance'
    INTRINSICS = hypersim_default_intrinsics(768, 1024)
    SCENE_TYPE = 'indoor'
    DEFAULT_SPLITS = dict(
        test=dict(ann_file='splits/hypersim_test.txt'),
        val=dict(ann_file='splits/hypersim_val.txt'),
        train=dict(ann_file='splits/hypersim_train.txt'),
    )

    def load_entries(self) -> List[dict]:
        entries = []
        for fields in read_split_file(self.ann_file):
            img = fields[0].strip('/')
            depth = fields[1].strip('/') if len(fields) > 1 else hypersim_depth_of(img)
            entries.append(dict(img=img, depth=depth))
        return entries
