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
``mmcls_registry_scope``  ``_scope_='mmcls'`` / ``mmcls.X`` in built dicts
``plain_dict_modules``    mmrazor's in-place switch-off on ``dict`` children
``zeroed_gradients``      DSNAS / DMCP train steps read zeroed gradients
``numpy_aliases``         mmrazor's ``np.int`` on numpy 2
``deit_head_tokens``      mmrazor's DeiT head on mmpretrain's two tokens
``channel_lookup``        mmrazor's tracer finds layers by name, not by listing
``channel_sets``          mmrazor's tracer gathers channel sets in one pass
``atomic_checkpoints``    a killed save leaves no half-written checkpoint
========================  ==================================================
"""
from .atomic_checkpoints import make_checkpoint_writes_atomic
from .channel_lookup import look_up_channels_by_name
from .channel_sets import gather_channel_sets_in_one_pass
from .checkpoint_loading import allow_mmengine_checkpoint_types
from .deit_head_tokens import read_deit_tokens_either_way
from .hub_models import patch_hub_get_model
from .mmcls_alias import install_mmcls_module_alias, patch_mmcls_configs
from .mmcls_registry_scope import patch_mmcls_registry_scope
from .mmrazor_quantization import (MMRazorQuantizationUnavailable,
                                   disable_mmrazor_quantization)
from .numpy_aliases import restore_numpy_aliases
from .package_paths import patch_mmengine_package_lookup
from .plain_dict_modules import fix_plain_dict_modules
from .zeroed_gradients import keep_gradient_tensors_in_mmrazor

_applied = False


def apply_compat_fixes() -> None:
    """Apply all compatibility fixes (idempotent)."""
    global _applied
    if _applied:
        return
    disable_mmrazor_quantization()
    if install_mmcls_module_alias():
        patch_mmcls_registry_scope()
    allow_mmengine_checkpoint_types()
    patch_mmengine_package_lookup()
    patch_mmcls_configs()
    patch_hub_get_model()
    make_checkpoint_writes_atomic()
    # These import mmrazor's models, which needs the fixes above first.
    fix_plain_dict_modules()
    keep_gradient_tensors_in_mmrazor()
    restore_numpy_aliases()
    read_deit_tokens_either_way()
    look_up_channels_by_name()
    gather_channel_sets_in_one_pass()
    _applied = True


__all__ = [
    'apply_compat_fixes', 'allow_mmengine_checkpoint_types',
    'disable_mmrazor_quantization', 'MMRazorQuantizationUnavailable',
    'install_mmcls_module_alias', 'patch_mmcls_configs', 'patch_hub_get_model',
    'patch_mmengine_package_lookup', 'patch_mmcls_registry_scope',
    'fix_plain_dict_modules', 'keep_gradient_tensors_in_mmrazor',
    'restore_numpy_aliases', 'make_checkpoint_writes_atomic',
    'read_deit_tokens_either_way', 'look_up_channels_by_name',
    'gather_channel_sets_in_one_pass'
]
