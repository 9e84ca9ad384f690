"""The one place that knows about version breakage in the stack.

:func:`apply_compat_fixes` applies every fix once; calling it again changes
nothing. Each fix lives in its own module, whose docstring says what breaks
and why:

========================  ==================================================
module                    fix
========================  ==================================================
``mmrazor_quantization``  mmrazor's models import on torch >= 2.1
``checkpoint_loading``    mmengine checkpoints load weights-only (torch >= 2.6)
``package_paths``         ``pkg::`` config paths without ``pkg_resources``
``mmcls_alias``           ``mmcls`` code and configs served by mmpretrain
``hub_models``            ``cfg_path`` models from ``mmcls::`` and local files
========================  ==================================================
"""
from .checkpoint_loading import allow_mmengine_checkpoint_types
from .hub_models import patch_hub_get_model
from .mmcls_alias import install_mmcls_module_alias, patch_mmcls_configs
from .mmrazor_quantization import (MMRazorQuantizationUnavailable,
                                   disable_mmrazor_quantization)
from .package_paths import patch_mmengine_package_lookup

_applied = False


def apply_compat_fixes() -> None:
    """Apply all compatibility fixes (idempotent)."""
    global _applied
    if _applied:
        return
    disable_mmrazor_quantization()
    install_mmcls_module_alias()
    allow_mmengine_checkpoint_types()
    patch_mmengine_package_lookup()
    patch_mmcls_configs()
    patch_hub_get_model()
    _applied = True


__all__ = [
    'apply_compat_fixes', 'allow_mmengine_checkpoint_types',
    'disable_mmrazor_quantization', 'MMRazorQuantizationUnavailable',
    'install_mmcls_module_alias', 'patch_mmcls_configs', 'patch_hub_get_model',
    'patch_mmengine_package_lookup'
]
