"""High-level APIs: build a depther from a config and run it on images."""
from .hub import from_pretrained, push_to_hub, save_pretrained
from .inference import (
    build_inference_pipeline,
    infer_depth,
    infer_depths,
    inference_pipeline_cfg,
    init_depther,
)
from .pointcloud import depth_to_points, read_ply, write_ply

__all__ = [
    'init_depther', 'infer_depth', 'infer_depths', 'inference_pipeline_cfg',
    'build_inference_pipeline', 'from_pretrained', 'save_pretrained', 'push_to_hub',
    'depth_to_points', 'write_ply', 'read_ply'
]
