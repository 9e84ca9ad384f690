"""Fix ``package_paths``: ``pkg::`` config paths without ``pkg_resources``."""
import importlib
import importlib.metadata
import os.path as osp
import sys

import pytest

import pwkd_plugin  # noqa: F401  (applies the fixes)
from pwkd_plugin.compat.package_paths import (get_installed_path,
                                              is_installed,
                                              patch_mmengine_package_lookup)

if osp.dirname(osp.abspath(__file__)) not in sys.path:  # the helpers
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _compat_helpers import run_python  # noqa: E402

# What setuptools >= 81 looks like to mmengine: no pkg_resources at all.
BLOCK_PKG_RESOURCES = '''
import importlib.abc


class NoPkgResources(importlib.abc.MetaPathFinder):

    def find_spec(self, name, path=None, target=None):
        if name == 'pkg_resources' or name.startswith('pkg_resources.'):
            raise ModuleNotFoundError(
                f"No module named {name!r}", name=name)
        return None


assert 'pkg_resources' not in sys.modules
sys.meta_path.insert(0, NoPkgResources())
'''


def module_dir(name):
    return osp.dirname(importlib.import_module(name).__file__)


def test_pkg_configs_without_pkg_resources(tmp_path):
    config = tmp_path / 'uses_base.py'
    config.write_text("_base_ = ['mmpretrain::_base_/default_runtime.py']\n"
                      "answer = 42\n")
    result = run_python(
        BLOCK_PKG_RESOURCES + f'''
from mmengine.config import Config
import mmengine.hub


def load():
    cfg = Config.fromfile({str(config)!r})
    return [cfg.answer, cfg.default_scope]


def hub_config():
    return mmengine.hub.get_config(
        'mmpretrain::resnet/resnet18_8xb16_cifar10.py').model.backbone.type


r = {{'blocked': outcome(lambda: __import__('pkg_resources'))}}
r['without'] = outcome(load)
r['hub_without'] = outcome(hub_config)
r['pwkd_plugin_imported'] = 'pwkd_plugin' in sys.modules

import pwkd_plugin  # after mmengine: the fix patches what it imported

r['with'] = outcome(load)
r['hub_with'] = outcome(hub_config)
r['still_blocked'] = 'pkg_resources' not in sys.modules
report(r)
''',
        cwd=str(tmp_path))
    assert result['blocked']['error'] == 'ModuleNotFoundError'
    assert not result['pwkd_plugin_imported']
    for key in ('without', 'hub_without'):
        assert result[key].get('error') == 'ModuleNotFoundError', result[key]
        assert "No module named 'pkg_resources'" in result[key]['msg']
    assert result['with'] == {'ok': [42, 'mmpretrain']}
    assert result['hub_with'] == {'ok': 'ResNet_CIFAR'}
    assert result['still_blocked']


def test_mmengine_uses_the_replacements():
    import mmengine.config.config as config_module
    import mmengine.hub.hub as hub_module
    import mmengine.utils as utils_module
    import mmengine.utils.package_utils as package_utils

    for module in (package_utils, utils_module, config_module):
        assert module.is_installed is is_installed
    for module in (package_utils, utils_module, config_module, hub_module):
        assert module.get_installed_path is get_installed_path
    assert patch_mmengine_package_lookup() is True
    assert package_utils.is_installed is is_installed


@pytest.mark.parametrize('package, module', [
    ('mmengine', 'mmengine'),
    ('mmcv-lite', 'mmcv'),
    ('mmcv_lite', 'mmcv'),
    ('mmpretrain', 'mmpretrain'),
    ('mmrazor', 'mmrazor'),
    ('numpy', 'numpy'),
])
def test_installed_packages(package, module):
    assert is_installed(package)
    path = get_installed_path(package)
    assert path == module_dir(module)
    assert osp.isfile(osp.join(path, '__init__.py'))


def test_module_name_that_is_no_distribution():
    # ``mmcv`` is a module of the ``mmcv-lite`` distribution.
    assert is_installed('mmcv')
    assert get_installed_path('mmcv') == module_dir('mmcv')


def test_missing_package():
    name = 'pwkd-no-such-package'
    assert not is_installed(name)
    assert not is_installed('pwkd_no_such_module')
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        get_installed_path(name)


def test_module_on_the_path_only(tmp_path, monkeypatch):
    package = tmp_path / 'pwkd_path_only_pkg'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (tmp_path / 'pwkd_namespace_pkg').mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()

    assert is_installed('pwkd_path_only_pkg')
    assert get_installed_path('pwkd_path_only_pkg') == str(package)

    assert not is_installed('pwkd_namespace_pkg')
    with pytest.raises(RuntimeError, match='namespace package'):
        get_installed_path('pwkd_namespace_pkg')
