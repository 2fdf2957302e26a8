"""Let mmengine checkpoints load with ``torch.load(weights_only=True)`` (torch >= 2.6).

mmengine 0.10.x stores its ``MessageHub`` (``HistoryBuffer`` objects holding numpy arrays and
numpy scalars) in every checkpoint. Rather than ``weights_only=False`` -- which would run
arbitrary code from a file a user hands us -- we allowlist exactly those classes.
"""
import torch


def _numpy_globals() -> list:
    import numpy as np

    found = [np.ndarray, np.dtype]
    try:  # numpy >= 1.25 / 2.x
        from numpy.core.multiarray import _reconstruct, scalar  # noqa: F401
    except ImportError:  # pragma: no cover
        _reconstruct = scalar = None
    try:
        from numpy._core.multiarray import _reconstruct, scalar  # noqa: F811
    except ImportError:
        pass
    found += [f for f in (_reconstruct, scalar) if f is not None]
    # dtype classes (np.dtypes.Float64DType, ...) that pickles of arrays and scalars reference
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return found


def allow_mmengine_checkpoints() -> None:
    """Add mmengine's and numpy's checkpoint classes to torch's ``weights_only`` allowlist."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 does not restrict unpickling by default
        return
    from mmengine.logging import HistoryBuffer

    add([HistoryBuffer, *_numpy_globals()])
