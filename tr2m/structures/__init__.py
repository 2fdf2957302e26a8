from .depth_data_sample import DepthDataSample

__all__ = ['DepthDataSample']
