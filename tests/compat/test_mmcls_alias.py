"""Fix ``mmcls_alias``: mmcls code and configs served by mmpretrain."""
import copy
import glob
import importlib
import inspect
import os.path as osp
import re
import sys

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

import pwkd_plugin  # noqa: F401  (applies the fixes)
import mmpretrain
import mmrazor
import mmrazor.models  # noqa: F401
from mmrazor.registry import MODELS
from pwkd_plugin.testing.offline_configs import offline
from pwkd_plugin.compat.mmcls_alias import (MmclsModuleAlias,
                                            get_package_and_cfg_path,
                                            install_mmcls_module_alias,
                                            patch_mmcls_configs,
                                            replace_mmcls_references)

if osp.dirname(osp.abspath(__file__)) not in sys.path:  # the helpers
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _compat_helpers import run_python  # noqa: E402

MMCLS_DISTILL = osp.join(
    osp.dirname(mmrazor.__file__), '.mim', 'configs', 'distill', 'mmcls')
KD_CONFIG = osp.join(MMCLS_DISTILL, 'kd',
                     'kd_logits_resnet34_resnet18_8xb32_in1k.py')
DISTILL_CONFIGS = sorted(
    path for path in glob.glob(osp.join(MMCLS_DISTILL, '**', '*.py'),
                               recursive=True)
    if osp.join('crd', 'datasets') not in path)
TIMM_MISSING = 'TIMMBackbone requires timm, please install it by `pip install "timm"`.'  # noqa: E501


def test_the_configs_are_there():
    assert osp.isfile(KD_CONFIG)
    assert len(DISTILL_CONFIGS) >= 19


def test_without_the_fix_mmcls_configs_and_code_break(tmp_path):
    result = run_python(
        f'''
from mmengine.config import Config

r = {{'plain': outcome(lambda: Config.fromfile({KD_CONFIG!r}))}}

# The fixes that mmrazor and pkg:: paths need: only the alias is missing.
load_fix('mmrazor_quantization').disable_mmrazor_quantization()
load_fix('package_paths').patch_mmengine_package_lookup()
r['other_fixes'] = outcome(lambda: Config.fromfile({KD_CONFIG!r}))
r['import_mmcls'] = outcome(lambda: __import__('mmcls.models'))

import mmrazor.models.losses.kd_soft_ce_loss as kd_soft_ce_loss
import mmrazor.models.task_modules.demo_inputs.default_demo_inputs as demo
import mmrazor.models.architectures.heads.deit_head as deit_head
r['placeholders'] = [
    kd_soft_ce_loss.soft_cross_entropy.__name__,
    demo.ImageClassifier.__name__,
    deit_head.VisionTransformerClsHead.__name__,
]
r['calling_it'] = outcome(
    lambda: kd_soft_ce_loss.soft_cross_entropy())
r['pwkd_plugin_imported'] = 'pwkd_plugin' in sys.modules
report(r)
''',
        cwd=str(tmp_path))
    assert not result['pwkd_plugin_imported']
    for key in ('plain', 'other_fixes'):
        assert result[key].get('error') == 'ModuleNotFoundError', result[key]
        assert 'mmcls is not installed' in result[key]['msg']
    assert result['import_mmcls']['error'] == 'ModuleNotFoundError'
    # mmrazor silently put its placeholders in place of mmcls' parts.
    assert result['placeholders'] == ['PlaceHolder'] * 3
    assert result['calling_it']['error'] == 'ImportError'
    assert '`mmcls` is not installed properly' in result['calling_it']['msg']


# --- (b) every shipped mmcls distillation config, with the fix ----------


def walk(node, found):
    """Collect every value of the keys that name scopes, types and configs."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('_scope_', 'default_scope', 'type', 'cfg_path'):
                found.append((key, value))
            walk(value, found)
    elif isinstance(node, (list, tuple)):
        for item in node:
            walk(item, found)
    return found


@pytest.mark.parametrize(
    'path', DISTILL_CONFIGS, ids=lambda p: osp.relpath(p, MMCLS_DISTILL))
def test_shipped_distill_config_loads_and_builds(path):
    cfg = Config.fromfile(path)

    # mmcls' default_runtime.py, read from mmpretrain and renamed.
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.model._scope_ == 'mmrazor'
    found = walk(cfg._cfg_dict.to_dict(), [])
    for key, value in found:
        if not isinstance(value, str):
            continue
        assert value != 'mmcls', (key, value)
        assert not value.startswith('mmcls.'), (key, value)
        assert not value.startswith('mmcls::'), (key, value)
        assert value not in ('PackClsInputs', 'ClsDataSample',
                             'ClsVisualizer'), (key, value)
    text = re.sub(r'https?://[^\s\'"]+', '', cfg.pretty_text)
    text = text.replace('/mmcls/', '/')  # folders of mmrazor's own configs
    assert 'mmcls' not in text, [
        line for line in text.splitlines() if 'mmcls' in line
    ]

    model_cfg = offline(copy.deepcopy(cfg.model.to_dict()))
    try:
        # As a Runner of this config builds it.
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            model = MODELS.build(model_cfg)
    except ImportError as error:
        if str(error) == TIMM_MISSING and importlib.util.find_spec(
                'timm') is None:
            pytest.skip(f'{osp.basename(path)}: {TIMM_MISSING}')
        raise
    assert isinstance(model, torch.nn.Module)
    assert type(model).__module__.startswith('mmrazor.models.')
    assert sum(p.numel() for p in model.parameters()) > 0


def test_only_the_deit_config_needs_timm():
    needing_timm = [
        p for p in DISTILL_CONFIGS if 'TIMMBackbone' in open(p).read()
    ]
    assert [osp.relpath(p, MMCLS_DISTILL) for p in needing_timm] == [
        osp.join('deit', 'deit-base_regnety160_pt-16xb64_in1k.py')
    ]


# --- (c) mmcls imports give mmpretrain's objects -------------------------


def test_mmcls_imports_are_mmpretrain():
    from mmcls.models import ImageClassifier
    from mmcls.structures import ClsDataSample
    from mmpretrain.models import ImageClassifier as PretrainClassifier
    from mmpretrain.structures import DataSample

    assert ImageClassifier is PretrainClassifier
    assert ClsDataSample is DataSample
    import mmcls.datasets.transforms as transforms
    assert transforms.PackClsInputs is mmpretrain.datasets.PackInputs
    import mmcls.visualization as visualization
    assert visualization.ClsVisualizer is (
        mmpretrain.visualization.UniversalVisualizer)


def test_missing_mmcls_names_still_fail():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module('mmcls.no_such_module')
    with pytest.raises(ImportError):
        exec('from mmcls.models import NoSuchClassifier', {})


@pytest.mark.parametrize('module, name, expected', [
    ('mmrazor.models.losses.kd_soft_ce_loss', 'soft_cross_entropy',
     'mmpretrain.models.losses.cross_entropy_loss.soft_cross_entropy'),
    ('mmrazor.models.task_modules.demo_inputs.default_demo_inputs',
     'ImageClassifier', 'mmpretrain.models.ImageClassifier'),
    ('mmrazor.models.task_modules.tracer.loss_calculator.'
     'image_classifier_loss_calculator', 'ImageClassifier',
     'mmpretrain.models.ImageClassifier'),
    ('mmrazor.models.architectures.heads.deit_head',
     'VisionTransformerClsHead', 'mmpretrain.models.VisionTransformerClsHead'),
    ('mmrazor.models.architectures.backbones.searchable_mobilenet_v2',
     'BaseBackbone', 'mmpretrain.models.backbones.base_backbone.BaseBackbone'),
    ('mmrazor.datasets.transforms.formatting', 'PackClsInputs',
     'mmpretrain.datasets.PackInputs'),
])
def test_mmrazor_uses_mmpretrain_instead_of_placeholders(
        module, name, expected):
    value = getattr(importlib.import_module(module), name)
    expected_module, _, expected_name = expected.rpartition('.')
    assert value is getattr(
        importlib.import_module(expected_module), expected_name)
    assert value.__name__ != 'PlaceHolder'


def test_kd_soft_ce_loss_computes():
    from mmrazor.models.losses.kd_soft_ce_loss import soft_cross_entropy

    assert inspect.isfunction(soft_cross_entropy)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        loss = MODELS.build(dict(type='KDSoftCELoss', tau=1))
    logits = torch.randn(4, 10)
    value = loss(logits, torch.randn(4, 10))
    assert value.ndim == 0 and torch.isfinite(value)


def test_mmrazor_deit_head_builds():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        head = MODELS.build(
            dict(
                type='mmrazor.DeiTClsHead',
                num_classes=10,
                in_channels=32,
                hidden_dim=None))
    assert isinstance(head, mmpretrain.models.VisionTransformerClsHead)
    assert head.layers.head_dist.out_features == 10


# --- (d) the config rewriting --------------------------------------------


def test_replace_mmcls_references():

    class NotAString:
        pass

    cfg = dict(
        default_scope='mmcls',
        model=dict(
            _scope_='mmcls',
            type='mmrazor.SingleTeacherDistill',
            architecture=dict(
                cfg_path='mmcls::resnet/resnet18_8xb32_in1k.py',
                pretrained=False),
            teacher=dict(
                cfg_path='mmrazor::vanilla/mmcls/wide-resnet/wrn16.py'),
            student=dict(type='mmcls.ImageClassifier', depth=18),
            kept=dict(type=NotAString, url='https://x/mmcls/y.pth')),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='PackClsInputs'),
            (dict(type='mmcls.ClsDataSample'), ),
        ],
        visualizer=dict(type='mmcls.ClsVisualizer', _scope_='mmrazor'))
    replace_mmcls_references(cfg)
    assert cfg == dict(
        default_scope='mmpretrain',
        model=dict(
            _scope_='mmpretrain',
            type='mmrazor.SingleTeacherDistill',
            architecture=dict(
                cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py',
                pretrained=False),
            teacher=dict(
                cfg_path='mmrazor::vanilla/mmcls/wide-resnet/wrn16.py'),
            student=dict(
                type='ImageClassifier', depth=18, _scope_='mmpretrain'),
            kept=dict(type=NotAString, url='https://x/mmcls/y.pth')),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='PackInputs'),
            (dict(type='DataSample', _scope_='mmpretrain'), ),
        ],
        visualizer=dict(type='UniversalVisualizer', _scope_='mmpretrain'))

    config_dict = ConfigDict(model=dict(type='mmcls.ImageClassifier'))
    replace_mmcls_references(config_dict)
    assert config_dict.model.type == 'ImageClassifier'
    assert config_dict.model._scope_ == 'mmpretrain'
    assert isinstance(config_dict.model, ConfigDict)


def test_mmcls_config_paths():
    assert get_package_and_cfg_path('mmcls::resnet/resnet18_8xb16_cifar10.py'
                                    ) == ('mmpretrain',
                                          'resnet/resnet18_8xb16_cifar10.py')
    assert get_package_and_cfg_path('mmcls::deit/deit-base_pt-16xb64_in1k.py'
                                    ) == ('mmpretrain',
                                          'deit/deit-base_16xb64_in1k.py')
    assert get_package_and_cfg_path('mmrazor::vanilla/a.py') == ('mmrazor',
                                                                 'vanilla/a.py')


def test_installing_the_alias_again_changes_nothing():
    fromfile = Config.fromfile
    meta_path = list(sys.meta_path)
    assert install_mmcls_module_alias() is True
    assert patch_mmcls_configs() is True
    assert sys.meta_path == meta_path
    assert sum(isinstance(f, MmclsModuleAlias) for f in sys.meta_path) == 1
    assert Config.fromfile is fromfile
