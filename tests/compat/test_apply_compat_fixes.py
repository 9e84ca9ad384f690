"""``apply_compat_fixes``: every fix once; calling again changes nothing."""
import sys

import mmengine.config.config as config_module
import mmengine.config.utils as config_utils
import mmengine.hub
import mmengine.hub.hub as hub_module
import mmengine.utils.package_utils as package_utils
import torch
from mmengine.config import Config

import pwkd_plugin
import pwkd_plugin.compat as compat
from pwkd_plugin.compat.checkpoint_loading import history_buffer_getattr
from pwkd_plugin.compat.mmcls_alias import MmclsModuleAlias
from pwkd_plugin.compat.mmrazor_quantization import MODULE_NAME


def alias_finders():
    return [f for f in sys.meta_path if isinstance(f, MmclsModuleAlias)]


def snapshot():
    """Everything the fixes change, by identity."""
    return dict(
        fromfile=Config.fromfile,
        get_model=mmengine.hub.get_model,
        hub_get_model=hub_module.get_model,
        meta_path=list(sys.meta_path),
        quantization=sys.modules[MODULE_NAME],
        is_installed=package_utils.is_installed,
        get_installed_path=package_utils.get_installed_path,
        config_get_installed_path=config_module.get_installed_path,
        package_and_cfg_path=config_utils._get_package_and_cfg_path,
        hub_package_and_cfg_path=hub_module._get_package_and_cfg_path,
        safe_globals=sorted(
            map(repr, torch.serialization.get_safe_globals())),
    )


def assert_same(before, after):
    assert before.keys() == after.keys()
    for key in before:
        if key == 'safe_globals':
            assert after[key] == before[key], key
        elif key == 'meta_path':
            assert len(after[key]) == len(before[key])
            assert all(a is b for a, b in zip(after[key], before[key])), key
        else:
            assert after[key] is before[key], key


def test_the_fixes_are_in_place():
    assert len(alias_finders()) == 1
    assert sys.meta_path[0] is alias_finders()[0]
    assert getattr(Config.fromfile, '_pwkd_mmcls_alias', False)
    assert mmengine.hub.get_model.__module__ == (
        'pwkd_plugin.compat.hub_models')
    assert package_utils.is_installed.__module__ == (
        'pwkd_plugin.compat.package_paths')
    assert type(sys.modules[MODULE_NAME]).__name__ == (
        '_DisabledQuantizationModule')
    assert (history_buffer_getattr,
            'builtins.getattr') in torch.serialization.get_safe_globals()


def test_calling_it_twice_changes_nothing():
    before = snapshot()
    compat.apply_compat_fixes()
    compat.apply_compat_fixes()
    pwkd_plugin.apply_compat_fixes()
    assert_same(before, snapshot())
    assert len(alias_finders()) == 1


def test_every_fix_is_idempotent_on_its_own(monkeypatch):
    # Past the module's "already applied" flag: each fix runs again.
    monkeypatch.setattr(compat, '_applied', False)
    before = snapshot()
    compat.apply_compat_fixes()
    assert compat._applied is True
    assert_same(before, snapshot())

    monkeypatch.setattr(compat, '_applied', False)
    compat.apply_compat_fixes()
    assert_same(before, snapshot())
    assert len(alias_finders()) == 1

    for fix in (compat.disable_mmrazor_quantization,
                compat.install_mmcls_module_alias,
                compat.allow_mmengine_checkpoint_types,
                compat.patch_mmengine_package_lookup,
                compat.patch_mmcls_configs, compat.patch_hub_get_model):
        assert fix() is True, fix.__name__
        assert fix() is True, fix.__name__
    assert_same(before, snapshot())


def test_fromfile_is_wrapped_once(tmp_path):
    # A second wrapper would rewrite twice; the one in place reads configs.
    compat.patch_mmcls_configs()
    config = tmp_path / 'mmcls_style.py'
    config.write_text("default_scope = 'mmcls'\n"
                      "model = dict(type='mmcls.ImageClassifier')\n")
    cfg = Config.fromfile(str(config))
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.model == dict(type='ImageClassifier', _scope_='mmpretrain')
    assert Config.fromfile.__closure__ is not None
    originals = [
        c.cell_contents for c in Config.fromfile.__closure__
        if callable(c.cell_contents)
    ]
    assert originals and not any(
        getattr(o, '_pwkd_mmcls_alias', False) for o in originals)
