"""Partial to Whole Knowledge Distillation as an OpenMMLab plugin.

Importing the package applies the compatibility fixes of :mod:`pwkd_plugin.compat`
(before anything imports ``mmrazor.models``), makes the dynamic layers slice
contiguous channel runs (:mod:`pwkd_plugin.models.dynamic_ops.channel_slices`)
and registers every component in mmrazor's registries.
"""
from .compat import apply_compat_fixes

apply_compat_fixes()

from . import (apis, checkpoints, config_blocks, datasets,  # noqa: E402,F401
               engine, export, models)
from .models.dynamic_ops import slice_contiguous_channels  # noqa: E402
from .version import __version__  # noqa: E402

slice_contiguous_channels()

__all__ = ['__version__', 'apply_compat_fixes']
