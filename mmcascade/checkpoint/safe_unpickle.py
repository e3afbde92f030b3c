"""Make the checkpoints our runs write loadable with ``torch.load(weights_only=True)``.

mmengine stores its message hub (``HistoryBuffer`` objects holding numpy arrays and bound
methods) in every checkpoint; unpickling bound methods needs ``getattr``, which a safe loader
must never allow. We pickle ``HistoryBuffer`` as a plain constructor call with Python lists
instead, and allow exactly that class (and numpy scalars), so resuming works with ``weights_only=True`` and no
arbitrary code path is opened.
"""

import copyreg

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

# numpy scalars (mmengine logs e.g. the ETA as np.float64) are rebuilt from a dtype and raw
# bytes: data only, no code.
_NUMPY_SCALAR_GLOBALS = [np.dtype, type(np.dtype(np.float64)), type(np.dtype(np.int64)), np.float64(0).__reduce__()[0]]


def _reduce_history_buffer(buf: HistoryBuffer):
    log, count = buf.data
    return HistoryBuffer, (log.tolist(), count.tolist(), buf.max_length)


def enable_safe_checkpoints() -> None:
    """Register the reducer and allow ``HistoryBuffer`` in weights-only loading (idempotent)."""
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    torch.serialization.add_safe_globals([HistoryBuffer, *_NUMPY_SCALAR_GLOBALS])


enable_safe_checkpoints()
