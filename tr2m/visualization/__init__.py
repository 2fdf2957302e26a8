"""Depth pictures: colour maps (``colormaps``), the grid, bars and ticks (``layout``), panels and
comparisons with the evaluation's mask and metrics (``depth_panels``), the ``DepthVisualizer``
(registered in ``VISUALIZERS``) and loss / metric curves (``curves``).

Backends are mmengine's (``LocalVisBackend``, ``TensorboardVisBackend``); hooks that use the
visualizer live in :mod:`tr2m.engine.hooks`.
"""
from .depth_panels import (
    COLORMAPS,
    DEPTH_SCALES,
    DepthStyle,
    Figure,
    colorize_depth,
    render_comparison,
    render_panels,
    save_rgb,
)
from .depth_visualizer import DepthVisualizer

__all__ = ['COLORMAPS', 'DEPTH_SCALES', 'DepthStyle', 'Figure', 'colorize_depth',
           'render_panels', 'render_comparison', 'save_rgb', 'DepthVisualizer']
