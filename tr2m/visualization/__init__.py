"""Visualizers and visualisation backends (registry location of ``VISUALIZERS``/``VISBACKENDS``).

tr2m uses mmengine's ``Visualizer`` and ``LocalVisBackend`` as they are; depth panels are written
by :class:`tr2m.engine.hooks.DepthVisualizationHook` (``tools/test.py --show-dir``).
"""
