"""The ``slimmable`` config block: any classifier config -> slimmable teacher.

A ``slimmable = dict(...)`` block on top of an mmpretrain classifier config
trains all widths jointly. Every key has a default; the keys, defaults and
meanings are ``SLIMMABLE_KEYS`` below, shown in ``docs/config_blocks.md``.
"""
import copy
from typing import Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmrazor.registry import MODELS
from torch.nn.modules.conv import _ConvNd

from ..checkpoints import check_checkpoint_file
from ..models.mutators.slimmable_teacher_mutator import LAYER_NORM_MODES
from ..models.utils import DEFAULT_WIDTHS, check_widths
from .block_checks import (check_bool, check_keys, check_positive_int,
                           check_positive_number, check_slimmable_backbone,
                           refuse_sync_bn)
from .block_keys import BlockKey, defaults_of

SLIMMABLE_KEYS = (
    BlockKey('widths', DEFAULT_WIDTHS,
             'width ratios: strictly ascending, in (0, 1], ending at 1.0'),
    BlockKey('divisor', 1, 'channel counts are multiples of it'),
    BlockKey('min_channels', 1, 'least channels of a layer (never zero)'),
    BlockKey('input_shape', (3, 32, 32),
             'the input (C, H, W) the channel tracer feeds'),
    BlockKey('inplace_distill', False,
             "narrower widths learn from the whole width's soft output of "
             'the same step'),
    BlockKey('inplace_distill_tau', 1.0, 'its temperature'),
    BlockKey('init_from', None,
             'an ordinary checkpoint of the same classifier to fine-tune '
             'from (weights map one to one; narrower batch norms are '
             'recalibrated)'),
    BlockKey('bn_recalibration_batches', 20,
             'training batches per width for that recalibration'),
    BlockKey('allow_mostly_whole', False,
             'train a teacher whose narrowest width keeps more than half of '
             "the whole's FLOPs, or keeps any layer whole"),
    BlockKey('layer_norms', 'sliced',
             "a vision transformer's LayerNorms: `'sliced'` (the first "
             "affine parameters, shared by the widths) or `'private'` "
             '(their own per width; not with `init_from`)'),
)
SLIMMABLE_DEFAULTS = defaults_of(SLIMMABLE_KEYS)

SLIMMABLE_MODEL_TYPES = ('SlimmableTeacher', 'SlimmableNetwork')


def check_slimmable_block(block: dict, for_training: bool = True) -> dict:
    """Validate a ``slimmable`` block and fill in its defaults.

    Args:
        block (dict): The block as the config has it.
        for_training (bool): Whether ``init_from`` must exist. Defaults to
            True.

    Returns:
        dict: Every key, defaults filled in.
    """
    if not isinstance(block, dict):
        raise ValueError(f'slimmable must be a dict, got {block!r}')
    check_keys(block, SLIMMABLE_DEFAULTS, 'slimmable')
    settings = dict(SLIMMABLE_DEFAULTS, **block)
    settings['widths'] = check_widths(settings['widths'], 'slimmable.widths')
    for key in ('divisor', 'min_channels', 'bn_recalibration_batches'):
        check_positive_int(settings[key], f'slimmable.{key}')
    check_bool(settings['inplace_distill'], 'slimmable.inplace_distill')
    check_bool(settings['allow_mostly_whole'], 'slimmable.allow_mostly_whole')
    check_positive_number(settings['inplace_distill_tau'],
                          'slimmable.inplace_distill_tau')
    if settings['layer_norms'] not in LAYER_NORM_MODES:
        raise ValueError('slimmable.layer_norms must be one of '
                         f'{LAYER_NORM_MODES}, got '
                         f'{settings["layer_norms"]!r}')
    if settings['layer_norms'] == 'private' and settings['init_from']:
        # The private copies are made from the initial weights, before
        # init_from's are loaded.
        raise ValueError(
            "slimmable.layer_norms='private' cannot start from "
            "slimmable.init_from: the private LayerNorms would keep their "
            "initial weights; use layer_norms='sliced' to fine-tune")
    shape = settings['input_shape']
    if not isinstance(shape, (list, tuple)) or len(shape) != 3:
        raise ValueError('slimmable.input_shape must be (channels, height, '
                         f'width), got {shape!r}')
    for value in shape:
        check_positive_int(value, 'slimmable.input_shape')
    if settings['init_from'] is not None and for_training:
        check_checkpoint_file(settings['init_from'], 'slimmable.init_from')
    return settings


def _first_conv_channels(classifier: dict) -> Optional[Tuple[int, str]]:
    """In-channels of the classifier's first convolution, built on the meta
    device (no memory, no initialisation); None if it does not build."""
    classifier = copy.deepcopy(classifier)
    classifier.setdefault('_scope_', 'mmpretrain')
    try:
        with torch.device('meta'):
            model = MODELS.build(classifier)
    except Exception:  # the real build reports it, with the full context
        return None
    for name, module in model.named_modules():
        if isinstance(module, _ConvNd):
            return module.in_channels, (
                f'its first convolution {name} has in_channels='
                f'{module.in_channels}')
    return None


def _model_input_channels(cfg: Config) -> Optional[Tuple[int, str]]:
    """The image channels the model takes, and where that is written."""
    model = cfg.model
    preprocessor = model.get('data_preprocessor') or cfg.get(
        'data_preprocessor') or {}
    for key in ('mean', 'std'):
        values = preprocessor.get(key)
        if isinstance(values, (list, tuple)) and len(values) > 1:
            return len(values), (f'the data preprocessor\'s {key} has '
                                 f'{len(values)} values')
    backbone = model.get('backbone') or {}
    if isinstance(backbone.get('in_channels'), int):
        return backbone['in_channels'], (
            f'model.backbone.in_channels is {backbone["in_channels"]}')
    return _first_conv_channels(model)


def check_input_channels(cfg: Config, settings: dict) -> None:
    """Refuse a ``slimmable.input_shape`` whose channels the model does not
    take, before the channel tracer runs a wrong input through it.

    Args:
        cfg (Config): The classifier config.
        settings (dict): The checked ``slimmable`` block.
    """
    found = _model_input_channels(cfg)
    shape = list(settings['input_shape'])
    if found is None or found[0] == shape[0]:
        return
    channels, where = found
    raise ValueError(
        f'slimmable.input_shape {shape} has {shape[0]} channel(s), but the '
        f'model takes {channels} ({where}): give slimmable.input_shape='
        f'{tuple([channels] + shape[1:])}')


def _data_preprocessor(cfg: Config, classifier: dict) -> dict:
    preprocessor = copy.deepcopy(
        classifier.pop('data_preprocessor', None)
        or cfg.get('data_preprocessor', None) or {})
    preprocessor.setdefault('type', 'mmpretrain.ClsDataPreprocessor')
    return preprocessor


def slimmable_model(cfg: Config, settings: dict) -> ConfigDict:
    """The ``SlimmableTeacher`` model config around ``cfg.model``."""
    classifier = copy.deepcopy(cfg.model)
    model_type = str(classifier.get('type')).split('.')[-1]
    if model_type in SLIMMABLE_MODEL_TYPES:
        raise ValueError(
            f'the config has a slimmable block, but its model is already a '
            f'{model_type}; remove one of the two')
    check_slimmable_backbone(classifier, 'model')
    classifier.setdefault('_scope_', cfg.get('default_scope') or 'mmpretrain')
    return ConfigDict(
        _scope_='mmrazor',
        type='SlimmableTeacher',
        data_preprocessor=_data_preprocessor(cfg, classifier),
        architecture=classifier,
        mutator=dict(
            type='SlimmableTeacherMutator',
            widths=list(settings['widths']),
            divisor=settings['divisor'],
            min_channels=settings['min_channels'],
            allow_mostly_whole=settings['allow_mostly_whole'],
            layer_norms=settings['layer_norms'],
            parse_cfg=dict(
                type='ChannelAnalyzer',
                demo_input=(1, *settings['input_shape']),
                tracer_type='FxTracer')),
        inplace_distill=settings['inplace_distill'],
        inplace_distill_tau=settings['inplace_distill_tau'],
        init_from=settings['init_from'])


def _every_width_loop(loop_cfg, loop_type: str):
    if loop_cfg is None:
        return None
    return dict(type=loop_type, fp16=loop_cfg.get('fp16', False))


def expand_slimmable_train(cfg: Config) -> Config:
    """Turn a classifier config with a ``slimmable`` block into a slimmable
    teacher's training config.

    Args:
        cfg (Config): The config; the block is removed, the model, loops and
            DDP wrapper are replaced.

    Returns:
        Config: The expanded config.
    """
    settings = check_slimmable_block(cfg.pop('slimmable'))
    refuse_sync_bn(cfg, 'slimmable')
    check_input_channels(cfg, settings)
    cfg.model = slimmable_model(cfg, settings)
    cfg.val_cfg = _every_width_loop(cfg.get('val_cfg'), 'mmrazor.WidthsValLoop')
    cfg.test_cfg = _every_width_loop(
        cfg.get('test_cfg'), 'mmrazor.WidthsTestLoop')
    cfg.model_wrapper_cfg = dict(
        type='mmrazor.SlimmableTeacherDDP',
        broadcast_buffers=False,
        find_unused_parameters=True)
    if settings['init_from'] is not None:
        cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
            dict(
                type='mmrazor.SlimmableBNRecalibrationHook',
                num_batches=settings['bn_recalibration_batches'])
        ]
    return cfg


def expand_slimmable_test(cfg: Config) -> Config:
    """The test-time counterpart of :func:`expand_slimmable_train`."""
    settings = check_slimmable_block(cfg.pop('slimmable'), for_training=False)
    check_input_channels(cfg, settings)
    settings['init_from'] = None
    cfg.model = slimmable_model(cfg, settings)
    cfg.val_cfg = _every_width_loop(cfg.get('val_cfg'), 'mmrazor.WidthsValLoop')
    cfg.test_cfg = _every_width_loop(
        cfg.get('test_cfg'), 'mmrazor.WidthsTestLoop')
    return cfg
