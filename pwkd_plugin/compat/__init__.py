"""The one place that knows about version breakage in the stack.

:func:`apply_compat_fixes` applies every fix once; calling it again changes
nothing. Each fix lives in its own module with the reason it exists.
"""
from .mmrazor_quantization import (MMRazorQuantizationUnavailable,
                                   disable_mmrazor_quantization)

_applied = False


def apply_compat_fixes() -> None:
    """Apply all compatibility fixes (idempotent)."""
    global _applied
    if _applied:
        return
    disable_mmrazor_quantization()
    _applied = True


__all__ = [
    'apply_compat_fixes', 'disable_mmrazor_quantization',
    'MMRazorQuantizationUnavailable'
]
