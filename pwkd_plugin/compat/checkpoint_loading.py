"""Loading mmengine checkpoints with torch's weights-only unpickler.

torch >= 2.6 loads with ``weights_only=True`` by default; mmengine 0.10.7 calls
``torch.load`` without the argument, and its checkpoints hold more than
tensors: numpy arrays and scalars (meta, RNG state) and the message hub's
:class:`~mmengine.logging.HistoryBuffer`, whose pickled state names its
statistics methods through ``getattr(HistoryBuffer, 'mean')``. So ``--resume``
and ``load_from`` fail.

Instead of turning weights-only loading off for every file
(``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``), this allow-lists exactly these types,
and ``getattr`` only in a restricted form that resolves the statistics methods
registered on :class:`HistoryBuffer` and refuses everything else.
"""
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

#: Statistics every HistoryBuffer registers on itself.
DEFAULT_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def history_buffer_getattr(obj, name: str):
    """``getattr`` limited to HistoryBuffer's registered statistics methods.

    Args:
        obj: Must be :class:`HistoryBuffer`.
        name (str): A statistics method registered on it.

    Returns:
        Callable: The statistics method.
    """
    allowed = DEFAULT_STATISTICS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'weights-only load refused getattr({obj!r}, {name!r}): only '
        f'HistoryBuffer statistics methods {sorted(allowed)} are allowed')


def _numpy_globals():
    multiarray = getattr(np, '_core', None) or np.core
    numpy_types = [
        multiarray.multiarray._reconstruct, multiarray.multiarray.scalar,
        np.ndarray, np.dtype
    ]
    # numpy >= 1.25 pickles each dtype as an instance of its own class.
    numpy_types += [
        type(np.dtype(code)) for code in np.typecodes['All'] if code != 'M'
        and code != 'm'
    ]
    numpy_types += [type(np.dtype('M8[s]')), type(np.dtype('m8[s]'))]
    return numpy_types


def allow_mmengine_checkpoint_types() -> bool:
    """Allow-list what mmengine checkpoints hold for weights-only loading.

    Returns:
        bool: True if torch has weights-only loading to configure.
    """
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return False
    torch.serialization.add_safe_globals(_numpy_globals() + [
        HistoryBuffer,
        (history_buffer_getattr, 'builtins.getattr'),
        (history_buffer_getattr, '__builtin__.getattr'),
    ])
    return True
