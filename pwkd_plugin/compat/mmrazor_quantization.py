"""mmrazor 1.0.0's quantization structures do not import on torch >= 2.1.

``mmrazor.structures.quantization`` imports private torch quantization helpers
that torch renamed or removed, and ``mmrazor.models`` imports it at import time,
so without this fix nothing of mmrazor's models imports. The fix puts a stand-in
module in its place before mmrazor is imported: every other part of mmrazor
(distillers, losses, mutators, algorithms) imports, and using quantization
raises :class:`MMRazorQuantizationUnavailable`, which says why.
"""
import sys
import types

import torch

MODULE_NAME = 'mmrazor.structures.quantization'

REASON = (
    f'mmrazor 1.0.0 quantization is not available with torch {torch.__version__}: '
    'mmrazor.structures.quantization imports private torch.ao.quantization helpers '
    'that torch >= 2.1 renamed or removed, so pwkd_plugin disables it. '
    'Distillation, pruning and NAS are not affected.')


class MMRazorQuantizationUnavailable(ImportError):
    """Raised when code reaches mmrazor's disabled quantization support."""


class _Unavailable:
    """Stands in for every class and function of the disabled module."""

    def __init__(self, *args, **kwargs):
        raise MMRazorQuantizationUnavailable(REASON)

    def __init_subclass__(cls, **kwargs):
        raise MMRazorQuantizationUnavailable(REASON)


def _unavailable_function(*args, **kwargs):
    raise MMRazorQuantizationUnavailable(REASON)


class _DisabledQuantizationModule(types.ModuleType):
    """Module whose every unknown attribute is an unavailable stand-in."""

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        if name[:1].isupper():
            return _Unavailable
        return _unavailable_function


class _NoBackendConfigs(dict):
    """An empty backend table whose every look-up says why it is empty."""

    def __missing__(self, backend):
        raise MMRazorQuantizationUnavailable(
            f'no quantization backend config {backend!r}: {REASON}')


def _quantization_importable() -> bool:
    # torch releases older than 2.1 still ship the helpers mmrazor needs.
    major, minor = (int(v) for v in torch.__version__.split('.')[:2])
    return (major, minor) < (2, 1)


def disable_mmrazor_quantization() -> bool:
    """Install the stand-in module if mmrazor's own cannot import.

    Returns:
        bool: True if the stand-in is in place after the call.
    """
    existing = sys.modules.get(MODULE_NAME)
    if isinstance(existing, _DisabledQuantizationModule):
        return True
    if existing is not None or _quantization_importable():
        return False
    stand_in = _DisabledQuantizationModule(MODULE_NAME, REASON)
    # mmrazor.models reads these two names at import time; an empty backend
    # table means "no quantization backend", QConfigHandler raises on use.
    stand_in.BackendConfigs = _NoBackendConfigs()
    stand_in.QConfigHandler = _Unavailable
    stand_in.__all__ = ['BackendConfigs', 'QConfigHandler']
    sys.modules[MODULE_NAME] = stand_in
    return True
