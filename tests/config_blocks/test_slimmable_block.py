"""The slimmable config block: defaults, expansion, and every refusal."""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from pwkd_plugin.config_blocks import (SLIMMABLE_DEFAULTS,
                                       check_slimmable_block,
                                       prepare_test_config,
                                       prepare_train_config)

from ..conftest import REPO_ROOT, config_path

SLIMMABLE_DIGITS = config_path('pwkd/teachers/slimmable_resnet20_digits.py')
ALL_KEYS = ('widths', 'divisor', 'min_channels', 'input_shape',
            'inplace_distill', 'inplace_distill_tau', 'init_from',
            'bn_recalibration_batches', 'allow_mostly_whole', 'layer_norms')


def digits_cfg(**block):
    cfg = Config.fromfile(SLIMMABLE_DIGITS)
    cfg.slimmable.update(block)
    return cfg


def no_dataset(cfg):
    """Point every data set at a type that cannot be built."""
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.type = 'NoSuchDataset'
    return cfg


def test_defaults():
    settings = check_slimmable_block({})
    assert settings == dict(
        widths=(0.25, 0.5, 0.75, 1.0),
        divisor=1,
        min_channels=1,
        input_shape=(3, 32, 32),
        inplace_distill=False,
        inplace_distill_tau=1.0,
        init_from=None,
        bn_recalibration_batches=20,
        allow_mostly_whole=False,
        layer_norms='sliced')
    assert set(SLIMMABLE_DEFAULTS) == set(ALL_KEYS)


def test_given_values_are_kept(tmp_path):
    ckpt = tmp_path / 'plain.pth'
    torch.save({}, str(ckpt))  # a (tiny) torch file
    block = dict(
        widths=[0.5, 1],
        divisor=8,
        min_channels=4,
        input_shape=[3, 16, 16],
        inplace_distill=True,
        inplace_distill_tau=2,
        init_from=str(ckpt),
        bn_recalibration_batches=3,
        allow_mostly_whole=True,
        layer_norms='sliced')
    settings = check_slimmable_block(block)
    assert settings['widths'] == (0.5, 1.0)
    for key in ALL_KEYS[1:]:
        assert settings[key] == block[key], key
    assert block['widths'] == [0.5, 1]  # the block itself is not changed


def test_unknown_key_is_named_with_the_allowed_keys():
    with pytest.raises(ValueError) as info:
        check_slimmable_block(dict(widht=(0.5, 1.0)))
    message = str(info.value)
    assert "'widht'" in message
    assert message.startswith('slimmable')
    for key in ALL_KEYS:
        assert key in message, key


@pytest.mark.parametrize(
    'widths, rule',
    [((0.5, 0.25, 1.0), 'strictly ascending'),
     ((0.0, 0.5, 1.0), r'\(0, 1\]'),
     ((0.5, 1.25), r'\(0, 1\]'),
     ((0.25, 0.5), 'end at 1.0'),
     ((), 'non-empty'),
     ('0.5', 'non-empty'),
     (('a', 1.0), 'numbers')])
def test_widths_rules(widths, rule):
    with pytest.raises(ValueError, match=rf'^slimmable\.widths must .*{rule}'):
        check_slimmable_block(dict(widths=widths))


@pytest.mark.parametrize('key', ['divisor', 'min_channels',
                                 'bn_recalibration_batches'])
@pytest.mark.parametrize('value', [0, -2, 2.0, True, '8'])
def test_positive_integers(key, value):
    with pytest.raises(
            ValueError,
            match=rf'^slimmable\.{key} must be a positive integer'):
        check_slimmable_block({key: value})


@pytest.mark.parametrize('value', [0, -1.0, False, 'high'])
def test_inplace_distill_tau(value):
    with pytest.raises(
            ValueError,
            match=r'^slimmable\.inplace_distill_tau must be a positive'):
        check_slimmable_block(dict(inplace_distill_tau=value))


@pytest.mark.parametrize('shape', [(3, 16), (16, 16, 3, 1), 16, '3x16x16'])
def test_input_shape_must_be_three_numbers(shape):
    with pytest.raises(
            ValueError,
            match=r'^slimmable\.input_shape must be \(channels, height, '
            r'width\)'):
        check_slimmable_block(dict(input_shape=shape))


@pytest.mark.parametrize('shape', [(3, 16, 0), (3, 16.0, 16), (3, -1, 16)])
def test_input_shape_values_must_be_positive_integers(shape):
    with pytest.raises(
            ValueError,
            match=r'^slimmable\.input_shape must be a positive integer'):
        check_slimmable_block(dict(input_shape=shape))


@pytest.mark.parametrize('value', ['Private', None, True])
def test_layer_norms_is_sliced_or_private(value):
    with pytest.raises(ValueError, match=r"^slimmable\.layer_norms must be "
                       r"one of \('sliced', 'private'\)"):
        check_slimmable_block(dict(layer_norms=value))
    assert check_slimmable_block(
        dict(layer_norms='private'))['layer_norms'] == 'private'


def test_private_layer_norms_cannot_start_from_init_from(tmp_path):
    ckpt = tmp_path / 'plain.pth'
    torch.save({}, str(ckpt))
    with pytest.raises(ValueError, match="layer_norms='private' cannot start"
                       " from slimmable.init_from"):
        check_slimmable_block(dict(layer_norms='private', init_from=str(ckpt)))


@pytest.mark.parametrize('value', [1, 'yes', None])
def test_inplace_distill_must_be_bool(value):
    with pytest.raises(
            ValueError, match=r'^slimmable\.inplace_distill must be True'):
        check_slimmable_block(dict(inplace_distill=value))


def test_init_from_must_exist_for_training(tmp_path):
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(ValueError) as info:
        check_slimmable_block(dict(init_from=missing))
    assert str(info.value).startswith('slimmable.init_from')
    assert missing in str(info.value)
    with pytest.raises(ValueError, match=r'^slimmable\.init_from'):
        check_slimmable_block(dict(init_from=str(tmp_path)))  # a folder
    # Testing does not load it: accepted.
    settings = check_slimmable_block(
        dict(init_from=missing), for_training=False)
    assert settings['init_from'] == missing


@pytest.mark.parametrize('block', [None, [('widths', (0.5, 1.0))], 'x'])
def test_block_must_be_a_dict(block):
    with pytest.raises(ValueError, match='^slimmable must be a dict'):
        check_slimmable_block(block)


def test_prepare_train_config_builds_a_slimmable_teacher():
    cfg = prepare_train_config(no_dataset(digits_cfg()))
    assert 'slimmable' not in cfg
    model = cfg.model
    assert model.type == 'SlimmableTeacher'
    assert model._scope_ == 'mmrazor'
    mutator = model.mutator
    assert mutator.type == 'SlimmableTeacherMutator'
    assert list(mutator.widths) == [0.25, 0.5, 0.75, 1.0]
    assert (mutator.divisor, mutator.min_channels) == (1, 1)
    assert tuple(mutator.parse_cfg.demo_input) == (1, 3, 16, 16)
    assert mutator.parse_cfg.tracer_type == 'FxTracer'
    assert model.inplace_distill is False
    assert model.init_from is None
    # The classifier is the config's own, its preprocessor moved up.
    assert model.architecture.type == 'ImageClassifier'
    assert model.architecture.backbone.type == 'mmrazor.CIFARResNet'
    assert model.architecture.backbone.arch == 'resnet20'
    assert 'data_preprocessor' not in model.architecture
    assert model.data_preprocessor.num_classes == 10
    assert list(model.data_preprocessor.mean) == [127.5] * 3
    assert cfg.val_cfg.type == 'mmrazor.WidthsValLoop'
    assert cfg.test_cfg.type == 'mmrazor.WidthsTestLoop'
    assert cfg.model_wrapper_cfg.type == 'mmrazor.SlimmableTeacherDDP'
    hooks = [h.type for h in cfg.get('custom_hooks', None) or []]
    assert 'mmrazor.SlimmableBNRecalibrationHook' not in hooks


def test_prepare_train_config_with_init_from_adds_the_recalibration_hook(
        tmp_path):
    ckpt = tmp_path / 'plain.pth'
    torch.save({}, str(ckpt))  # a (tiny) torch file
    cfg = digits_cfg(init_from=str(ckpt), bn_recalibration_batches=3)
    cfg.custom_hooks = [dict(type='EMAHook')]
    cfg = prepare_train_config(no_dataset(cfg))
    assert cfg.model.init_from == str(ckpt)
    assert [h['type'] for h in cfg.custom_hooks] == [
        'EMAHook', 'mmrazor.SlimmableBNRecalibrationHook',
        'mmrazor.RandomStateHook'
    ]
    assert cfg.custom_hooks[1]['num_batches'] == 3


def test_prepare_test_config_evaluates_every_width_and_ignores_init_from(
        tmp_path):
    cfg = digits_cfg(init_from=str(tmp_path / 'gone.pth'))
    cfg = prepare_test_config(no_dataset(cfg))
    assert 'slimmable' not in cfg
    assert cfg.model.type == 'SlimmableTeacher'
    assert cfg.model.init_from is None
    assert cfg.test_cfg.type == 'mmrazor.WidthsTestLoop'
    assert cfg.val_cfg.type == 'mmrazor.WidthsValLoop'


@pytest.mark.parametrize('model_type', [
    'SlimmableTeacher', 'SlimmableNetwork', 'mmrazor.SlimmableTeacher',
    'mmrazor.SlimmableNetwork'
])
def test_an_already_slimmable_model_is_refused(model_type):
    cfg = digits_cfg()
    cfg.model = dict(
        type=model_type,
        architecture=cfg.model,
        mutator=dict(type='SlimmableTeacherMutator'))
    with pytest.raises(ValueError, match='already a Slimmable'):
        prepare_train_config(no_dataset(cfg))


@pytest.mark.parametrize('block, message', [
    (dict(divisor=0), r'slimmable\.divisor'),
    (dict(widths=(0.5, )), r'slimmable\.widths'),
    (dict(colour='red'), r"'colour'"),
])
def test_block_errors_come_from_prepare_train_config(block, message):
    with pytest.raises(ValueError, match=message):
        prepare_train_config(no_dataset(digits_cfg(**block)))


def _train_tool():
    spec = importlib.util.spec_from_file_location(
        'pwkd_tools_train_for_slimmable_tests',
        osp.join(REPO_ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NO_DATA = [
    'train_dataloader.dataset.type=NoSuchDataset',
    'val_dataloader.dataset.type=NoSuchDataset',
    'test_dataloader.dataset.type=NoSuchDataset'
]


def test_tools_train_refuses_the_block_before_building_any_data(
        tmp_path, monkeypatch):
    tool = _train_tool()
    work_dir = str(tmp_path / 'refused')
    monkeypatch.setattr(sys, 'argv', [
        'train.py', SLIMMABLE_DIGITS, '--work-dir', work_dir,
        '--cfg-options', 'slimmable.divisor=0', *NO_DATA
    ])
    with pytest.raises(ValueError, match=r'^slimmable\.divisor'):
        tool.main()
    assert not osp.exists(work_dir)


def test_tools_train_would_build_the_data_without_the_error(
        tmp_path, monkeypatch):
    """Control: the same command with a good block reaches the data."""
    tool = _train_tool()
    monkeypatch.setattr(sys, 'argv', [
        'train.py', SLIMMABLE_DIGITS, '--work-dir',
        str(tmp_path / 'reaches_data'), '--cfg-options', *NO_DATA
    ])
    with pytest.raises(KeyError, match='NoSuchDataset'):
        tool.main()


def test_a_timm_backbone_without_timm_is_refused_naming_the_extra(
        monkeypatch):
    monkeypatch.setitem(sys.modules, 'timm', None)  # import timm fails
    cfg = no_dataset(digits_cfg())
    cfg.model.backbone = dict(type='TIMMBackbone', model_name='regnety_160')
    with pytest.raises(ValueError, match=r'model.backbone is a TIMMBackbone, '
                       r'which needs timm, and it is not installed'):
        prepare_train_config(cfg)
