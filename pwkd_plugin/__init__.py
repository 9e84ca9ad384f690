"""Partial to Whole Knowledge Distillation as an OpenMMLab plugin.

Importing the package applies the compatibility fixes of :mod:`pwkd_plugin.compat`
(before anything imports ``mmrazor.models``) and registers every component in
mmrazor's registries.
"""
from .compat import apply_compat_fixes

apply_compat_fixes()

from . import apis, datasets, engine, models  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'apply_compat_fixes']
