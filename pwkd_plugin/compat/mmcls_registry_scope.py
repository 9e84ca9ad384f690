"""The ``mmcls`` registry scope served by mmpretrain's registries.

:mod:`.mmcls_alias` rewrites ``mmcls`` in configs read from files. Models
built from dicts in Python never pass through a config file, and mmrazor's own
algorithms (``SlimmableNetwork``, ``AutoSlim``, ``DCFF``, ``BigNAS``, the
pruning algorithms) and users' scripts build dicts that say
``_scope_='mmcls'`` or ``type='mmcls.X'``. No registry has the scope
``mmcls`` any more, so mmengine falls back to the current registry and fails:
``KeyError: 'ImageClassifier is not in the mmrazor::model registry'``,
``'mmcls.GlobalAveragePooling is not in the mmpretrain::model registry'``.

mmcls's ``ImageClassifier`` named its default data preprocessor with its
scope (``mmcls.ClsDataPreprocessor``); mmpretrain's names it without one, so
a classifier built under another default scope (mmrazor's ``AutoFormer``,
``SearchableImageClassifier`` in an mmrazor config) looks for it in that
scope's registry and fails: ``KeyError: 'ClsDataPreprocessor is not in the
mmrazor::model registry'``.

The fix makes the two places where mmengine reads a scope name (a type's
``scope.`` prefix and a new default scope, which ``_scope_`` and
``default_scope`` create) read ``mmcls`` as ``mmpretrain``, and gives
``ImageClassifier``'s default preprocessor its scope again.
"""
import inspect

from mmengine.registry import DefaultScope, Registry
from mmpretrain.models import ImageClassifier

from .mmcls_alias import NEW_SCOPE, OLD_SCOPE

_FIXED = '_pwkd_mmcls_scope'


def _current_scope(scope):
    return NEW_SCOPE if scope == OLD_SCOPE else scope


_original_split_scope_key = Registry.__dict__['split_scope_key'].__func__
_original_default_scope_init = DefaultScope.__init__


def split_scope_key(key: str):
    """Split ``scope.Name`` as mmengine does, reading ``mmcls`` as mmpretrain.

    Args:
        key (str): A registered name, optionally with a scope prefix.

    Returns:
        Tuple[Optional[str], str]: The scope (or None) and the name.
    """
    scope, real_key = _original_split_scope_key(key)
    return _current_scope(scope), real_key


def default_scope_init(self, name: str, scope_name: str):
    """``DefaultScope.__init__`` with ``mmcls`` read as mmpretrain."""
    _original_default_scope_init(self, name, _current_scope(scope_name))


_original_classifier_init = ImageClassifier.__init__
_CLASSIFIER_SIGNATURE = inspect.signature(_original_classifier_init)


def image_classifier_init(self, *args, **kwargs):
    """``ImageClassifier.__init__`` with its default data preprocessor
    named with mmpretrain's scope, so that any default scope finds it."""
    bound = _CLASSIFIER_SIGNATURE.bind(self, *args, **kwargs)
    preprocessor = bound.arguments.get('data_preprocessor') or {}
    if isinstance(preprocessor, dict) and 'type' not in preprocessor:
        bound.arguments['data_preprocessor'] = dict(
            preprocessor, type=f'{NEW_SCOPE}.ClsDataPreprocessor')
    _original_classifier_init(*bound.args, **bound.kwargs)


def patch_mmcls_registry_scope() -> bool:
    """Read the ``mmcls`` scope as ``mmpretrain`` in registries (idempotent).

    Returns:
        bool: True once the patch is in place.
    """
    if getattr(Registry.split_scope_key, _FIXED, False):
        return True
    for function in (split_scope_key, default_scope_init,
                     image_classifier_init):
        setattr(function, _FIXED, True)
    Registry.split_scope_key = staticmethod(split_scope_key)
    DefaultScope.__init__ = default_scope_init
    ImageClassifier.__init__ = image_classifier_init
    return True
