"""mmcls 1.x served by mmpretrain, its successor.

mmcls 1.x is not installable, and mmrazor 1.0.0 still names it in two places:

* its code imports ``mmcls.X`` and, when that fails, silently puts
  placeholders in place of classification parts (``ImageClassifier`` for the
  channel tracer's demo inputs and loss calculator, ``soft_cross_entropy`` for
  ``KDSoftCELoss``, the searchable backbones, ``DeiTClsHead``, ...);
* its shipped configs (``mmrazor::distill/mmcls/...``) name ``mmcls::`` base
  configs, ``mmcls.X`` types and ``_scope_='mmcls'``.

mmpretrain has the same modules and base configs under the same paths and a
few renamed names. This fix makes ``import mmcls.X`` give a view of
``mmpretrain.X`` (renamed names answered under their old names), resolves
``mmcls::`` config paths to mmpretrain's files, and rewrites every config read
by :meth:`mmengine.config.Config.fromfile` to name mmpretrain.
"""
import importlib
import importlib.abc
import importlib.util
import sys
import types

import mmengine.config.config as config_module
import mmengine.config.utils as config_utils
import mmengine.hub.hub as hub_module
from mmengine.config import Config

OLD_SCOPE = 'mmcls'
NEW_SCOPE = 'mmpretrain'

#: Names that mmpretrain renamed (old -> new), as types and as attributes.
RENAMED_NAMES = {
    'PackClsInputs': 'PackInputs',
    'ClsDataSample': 'DataSample',
    'ClsVisualizer': 'UniversalVisualizer',
}

#: Configs that mmpretrain renamed (old path -> new path).
RENAMED_CONFIGS = {
    'deit/deit-base_pt-16xb64_in1k.py': 'deit/deit-base_16xb64_in1k.py',
}


class _AliasModule(types.ModuleType):
    """``mmcls.X``: every attribute is looked up on ``mmpretrain.X``."""

    def __init__(self, name: str, target: types.ModuleType):
        super().__init__(name, target.__doc__)
        self.__path__ = []  # a package, so that submodules import through us
        self._target = target

    def __getattr__(self, name):
        if name.startswith('__') and name not in ('__all__', '__version__'):
            raise AttributeError(name)
        return getattr(self._target, RENAMED_NAMES.get(name, name))

    def __dir__(self):
        return sorted(set(dir(self._target)) | set(RENAMED_NAMES))


class MmclsModuleAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import hook that serves ``mmcls`` and its submodules by mmpretrain."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != OLD_SCOPE and not fullname.startswith(OLD_SCOPE + '.'):
            return None
        target_name = NEW_SCOPE + fullname[len(OLD_SCOPE):]
        if importlib.util.find_spec(target_name) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        target = importlib.import_module(NEW_SCOPE + spec.name[len(OLD_SCOPE):])
        return _AliasModule(spec.name, target)

    def exec_module(self, module):
        pass


def install_mmcls_module_alias() -> bool:
    """Put the import hook first on :data:`sys.meta_path` (idempotent).

    Returns:
        bool: True if ``mmcls`` is served by the alias (False when a real mmcls
        is importable and is left alone).
    """
    if any(isinstance(f, MmclsModuleAlias) for f in sys.meta_path):
        return True
    if importlib.util.find_spec(OLD_SCOPE) is not None:
        return False
    sys.meta_path.insert(0, MmclsModuleAlias())
    return True


_original_package_and_cfg_path = config_utils._get_package_and_cfg_path


def get_package_and_cfg_path(cfg_path: str):
    """Split ``pkg::path`` as mmengine does, serving ``mmcls`` by mmpretrain.

    Args:
        cfg_path (str): ``package::relative/config.py``.

    Returns:
        Tuple[str, str]: Package name and relative config path.
    """
    package, _, path = cfg_path.partition('::')
    if package == OLD_SCOPE:
        return NEW_SCOPE, RENAMED_CONFIGS.get(path, path)
    return _original_package_and_cfg_path(cfg_path)


def _rewrite_dict(node: dict) -> None:
    updates = {}
    if node.get('_scope_') == OLD_SCOPE:
        updates['_scope_'] = NEW_SCOPE
    if node.get('default_scope') == OLD_SCOPE:
        updates['default_scope'] = NEW_SCOPE
    type_name = node.get('type')
    if isinstance(type_name, str):
        scope, dot, name = type_name.rpartition('.')
        if dot and scope == OLD_SCOPE:
            # Built in mmpretrain's scope, so that what the type builds
            # inside (e.g. ImageClassifier's data preprocessor) is found too.
            updates['type'] = RENAMED_NAMES.get(name, name)
            updates['_scope_'] = NEW_SCOPE
        elif not dot and name in RENAMED_NAMES:
            updates['type'] = RENAMED_NAMES[name]
    cfg_path = node.get('cfg_path')
    if isinstance(cfg_path, str) and cfg_path.startswith(OLD_SCOPE + '::'):
        updates['cfg_path'] = NEW_SCOPE + cfg_path[len(OLD_SCOPE):]
    for key, value in updates.items():
        # ConfigDict.__setitem__ would convert values; keep them as they are.
        dict.__setitem__(node, key, value)


def replace_mmcls_references(node) -> None:
    """Rewrite mmcls scopes, types and config paths of a config in place.

    Args:
        node (dict | list | tuple): A config (or part of one).
    """
    if isinstance(node, dict):
        _rewrite_dict(node)
        for value in node.values():
            replace_mmcls_references(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            replace_mmcls_references(item)


def patch_mmcls_configs() -> bool:
    """Resolve ``mmcls::`` paths with mmpretrain, and make
    :meth:`Config.fromfile` return configs with mmcls replaced (idempotent).

    Returns:
        bool: True once the patch is in place.
    """
    for module in (config_utils, config_module, hub_module):
        module._get_package_and_cfg_path = get_package_and_cfg_path
    original = Config.fromfile
    if getattr(original, '_pwkd_mmcls_alias', False):
        return True

    def fromfile(*args, **kwargs):
        cfg = original(*args, **kwargs)
        if isinstance(cfg, Config):
            replace_mmcls_references(cfg._cfg_dict)
        return cfg

    fromfile._pwkd_mmcls_alias = True
    fromfile.__doc__ = original.__doc__
    Config.fromfile = staticmethod(fromfile)
    return True
