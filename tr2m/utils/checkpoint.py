"""Let mmengine checkpoints load with ``torch.load(weights_only=True)`` (torch >= 2.6).

mmengine 0.10.x stores its ``MessageHub`` in every checkpoint: ``HistoryBuffer`` objects holding
numpy arrays, plus numpy scalars. A plain pickle of a ``HistoryBuffer`` also references its
statistics methods through ``getattr``, and allowlisting ``getattr`` would let a crafted file
reach any attribute of any allowed object -- as unsafe as turning weights_only off. So tr2m
pickles ``HistoryBuffer`` through :func:`rebuild_history_buffer` (plain lists in, a buffer out)
and allowlists exactly that function and the numpy reconstruction helpers.
Checkpoints written by tr2m's tools therefore load safely, and a file a user hands us is never
unpickled with weights_only off.
"""
import copyreg
from typing import List

import torch


def rebuild_history_buffer(log_history: List[float], count_history: List[int],
                           max_length: int):
    """Rebuild a ``HistoryBuffer`` from plain lists (the safe pickle form)."""
    from mmengine.logging import HistoryBuffer

    return HistoryBuffer(list(log_history), list(count_history), max_length)


def _reduce_history_buffer(buf):
    return rebuild_history_buffer, (buf._log_history.tolist(), buf._count_history.tolist(),
                                    buf.max_length)


def _numpy_globals() -> list:
    import numpy as np

    found = [np.ndarray, np.dtype]
    for mod_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        found += [getattr(mod, n) for n in ('_reconstruct', 'scalar') if hasattr(mod, n)]
    # dtype classes (np.dtypes.Float64DType, ...) that pickles of arrays and scalars reference
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return found


def allow_mmengine_checkpoints() -> None:
    """Pickle ``HistoryBuffer`` safely and allowlist what mmengine checkpoints contain."""
    from mmengine.logging import HistoryBuffer

    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 does not restrict unpickling by default
        return
    add([rebuild_history_buffer, *_numpy_globals()])
