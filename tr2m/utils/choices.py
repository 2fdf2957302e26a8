"""The fixed choices of the tools' options, in a module that imports nothing.

A tool builds its argument parser from these before it imports torch, OpenCV or mmengine, so
``--help`` and argument errors answer at once. Each name is also importable where it is used
(same object): :data:`FLIP_MERGES` from ``tr2m.models.tta``, :data:`COLORMAPS` and
:data:`DEPTH_SCALES` from ``tr2m.visualization``, :data:`PRECISIONS` from
``tr2m.utils.hardware``, :data:`LAUNCHERS` from ``tr2m.utils.dist`` and :data:`PNG_SCALES` from
``tr2m.apis.infer_outputs``.
"""

#: Ways to merge a prediction with the mirrored-back prediction of the mirrored image
#: (``tr2m.models.tta``, ``--flip-merge``).
FLIP_MERGES = ('mean', 'border_blend')

#: OpenCV colour maps of ``tr2m.visualization.colormaps``: name -> ``cv2.COLORMAP_<value>``.
#: cividis is left out on purpose: it passes through neutral greys, the invalid-pixel colours.
CV2_COLORMAPS = dict(turbo='TURBO', magma='MAGMA', inferno='INFERNO', plasma='PLASMA',
                     viridis='VIRIDIS', jet='JET')
#: Colour map names accepted everywhere (``--cmap``).
COLORMAPS = ('turbo', 'spectral') + tuple(n for n in CV2_COLORMAPS if n != 'turbo')
#: Depth-to-colour scales (``--depth-scale``).
DEPTH_SCALES = ('linear', 'log', 'inverse')

#: ``--precision`` choices: ``auto`` = bfloat16 where ``tr2m.utils.hardware.bf16_pays``, else
#: float32.
PRECISIONS = ('auto', 'bf16', 'fp32')

#: Job launchers of the distributed tools (``--launcher``; ``tr2m.utils.dist``).
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')

#: uint16 PNG scale per model unit: metres -> millimetres, millimetres -> 1/100 mm
#: (``tools/infer.py --units``).
PNG_SCALES = {'m': 1000.0, 'mm': 100.0}

__all__ = ['FLIP_MERGES', 'CV2_COLORMAPS', 'COLORMAPS', 'DEPTH_SCALES', 'PRECISIONS',
           'LAUNCHERS', 'PNG_SCALES']
