"""The pwkd config block: defaults, expansion, and every refusal."""
import re

import sys

import pytest
from mmengine.config import Config

from pwkd_plugin.config_blocks import PWKD_DEFAULTS, prepare_train_config

from ..conftest import config_path

PWKD_DIGITS = config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py')


def digits_cfg(teacher_ckpt, **pwkd):
    cfg = Config.fromfile(PWKD_DIGITS)
    cfg.pwkd.teacher_ckpt = teacher_ckpt
    cfg.pwkd.update(pwkd)
    # Errors must come before any data is touched: a data set that cannot
    # be built shows that nothing was built.
    cfg.train_dataloader.dataset.type = 'NoSuchDataset'
    return cfg


def test_expansion_with_defaults(digits_slimmable_teacher_ckpt):
    cfg = Config.fromfile(PWKD_DIGITS)
    cfg.pwkd = dict(teacher_ckpt=digits_slimmable_teacher_ckpt)
    base_schedule = cfg.param_scheduler
    cfg = prepare_train_config(cfg)
    assert 'pwkd' not in cfg
    assert cfg.model.type == 'PWKDDistill'
    assert cfg.model.base_type == 'SingleTeacherDistill'
    assert cfg.model.widths == [0.25, 0.5, 0.75, 1.0]
    assert 'teacher_ckpt' in cfg.model and 'distiller' in cfg.model
    # The measured default: short partial stages (3/8 of the 20 epochs
    # shared by the narrower widths, rounded) under the base recipe's own
    # schedule, kept as it is.
    hook = [h for h in cfg.custom_hooks if h.type == 'mmrazor.PWKDStageHook']
    assert len(hook) == 1 and hook[0].stage_lengths == [2, 2, 3, 13]
    assert cfg.param_scheduler == base_schedule
    assert set(PWKD_DEFAULTS) == {
        'teacher_ckpt', 'widths', 'stage_split', 'stage_lengths', 'lr_cycle',
        'reset_optimizer_state', 'feature_strategy', 'accept_new_plan',
        'teacher_precision', 'stage_ratios'
    }


def test_the_papers_plan(digits_slimmable_teacher_ckpt):
    cfg = Config.fromfile(PWKD_DIGITS)
    cfg.pwkd = dict(teacher_ckpt=digits_slimmable_teacher_ckpt,
                    stage_split='equal', lr_cycle=dict())
    cfg = prepare_train_config(cfg)
    # The base recipe's cosine schedule is replaced, not stacked.
    assert [s.type for s in cfg.param_scheduler] == ['mmrazor.PWKDCyclicLR']
    scheduler = cfg.param_scheduler[0]
    assert scheduler.stage_lengths == [5, 5, 5, 5]
    assert scheduler.by_epoch and scheduler.convert_to_iter_based
    assert scheduler.mode == 'cosine' and scheduler.peak_decay == 1.0
    hook = [h for h in cfg.custom_hooks if h.type == 'mmrazor.PWKDStageHook']
    assert len(hook) == 1 and hook[0].stage_lengths == [5, 5, 5, 5]


def test_short_partial_split_for_any_number_of_widths():
    from pwkd_plugin.config_blocks.pwkd_block import split_stages
    assert split_stages('short_partial', 16, 4) == [2, 2, 2, 10]
    assert split_stages('short_partial', 240, 4) == [30, 30, 30, 150]
    assert split_stages('short_partial', 16, 2) == [6, 10]
    assert split_stages('short_partial', 5, 1) == [5]
    assert split_stages('equal', 16, 4) == [4, 4, 4, 4]
    # Every stage keeps at least one epoch.
    assert split_stages('short_partial', 4, 4) == [1, 1, 1, 1]


def test_uneven_split_and_lr_cycle_none(digits_slimmable_teacher_ckpt):
    cfg = Config.fromfile(PWKD_DIGITS)
    cfg.pwkd = dict(teacher_ckpt=digits_slimmable_teacher_ckpt,
                    widths=(0.5, 1.0), lr_cycle=None)
    cfg.train_cfg.max_epochs = 7
    before = cfg.param_scheduler
    cfg = prepare_train_config(cfg)
    hook, = [h for h in cfg.custom_hooks if h.type == 'mmrazor.PWKDStageHook']
    assert hook.stage_lengths == [3, 4]
    assert cfg.param_scheduler == before


def test_stage_ratios_and_peak_decay_reach_the_hook_and_scheduler(
        digits_slimmable_teacher_ckpt):
    cfg = digits_cfg(digits_slimmable_teacher_ckpt, stage_ratios=(1, 1, 1, 5),
                     lr_cycle=dict(peak_decay=0.5))
    cfg.train_cfg.max_epochs = 16
    cfg = prepare_train_config(cfg)
    hook, = [h for h in cfg.custom_hooks if h.type == 'mmrazor.PWKDStageHook']
    assert hook.stage_lengths == [2, 2, 2, 10]
    assert cfg.param_scheduler[-1].stage_lengths == [2, 2, 2, 10]
    assert cfg.param_scheduler[-1].peak_decay == 0.5


@pytest.mark.parametrize('pwkd, message', [
    (dict(stage_lengths=[5, 5, 5, 4]),
     'pwkd.stage_lengths [5, 5, 5, 4] add up to 19, but '
     'train_cfg.max_epochs is 20'),
    (dict(stage_lengths=[10, 10]), 'one length per width'),
    (dict(stage_lengths=[10, 0, 5, 5]), 'pwkd.stage_lengths must be a list '
     'of positive integers'),
    (dict(widths=(0.3, 1.0)), 'pwkd.widths [0.3] are not in the teacher '
     'checkpoint'),
    (dict(widths=(1.0, 0.5)), 'pwkd.widths must be strictly ascending'),
    (dict(widths=(0.25, 0.5)), 'pwkd.widths must end at 1.0'),
    (dict(stages=4), "pwkd: unknown key(s) ['stages']"),
    (dict(lr_cycle=dict(mode='linear')), 'pwkd.lr_cycle.mode must be one of'),
    (dict(lr_cycle=dict(warmup_length=5)), 'pwkd.lr_cycle.warmup_length'),
    (dict(lr_cycle=dict(restart=True)), 'pwkd.lr_cycle: unknown key(s)'),
    (dict(stage_ratios=(1, 1, 1, 5), stage_lengths=[5, 5, 5, 5]),
     'give pwkd.stage_lengths or pwkd.stage_ratios, not both'),
    (dict(stage_ratios=(1, 0, 1, 5)), 'pwkd.stage_ratios must be a list of '
     'positive numbers'),
    (dict(stage_ratios=(1, 5)), 'pwkd.stage_ratios [1, 5] must have one '
     'ratio per width'),
    (dict(lr_cycle=dict(peak_decay=0)), 'pwkd.lr_cycle.peak_decay must be a '
     'number in (0, 1]'),
    (dict(stage_split='paper'), "pwkd.stage_split must be one of "
     "('short_partial', 'equal'), got 'paper'"),
    (dict(reset_optimizer_state='yes'),
     'pwkd.reset_optimizer_state must be True or False'),
])
def test_refusals_name_the_key(digits_slimmable_teacher_ckpt, pwkd, message):
    cfg = digits_cfg(digits_slimmable_teacher_ckpt, **pwkd)
    with pytest.raises(ValueError, match=re.escape(message)):
        prepare_train_config(cfg)


def test_teacher_checkpoint_refusals(tmp_path, digits_teacher_ckpt):
    with pytest.raises(ValueError, match='pwkd.teacher_ckpt must be an '
                       'existing checkpoint file'):
        prepare_train_config(digits_cfg(str(tmp_path / 'missing.pth')))
    # An ordinary teacher: the message says how to make a slimmable one.
    with pytest.raises(ValueError) as error:
        prepare_train_config(digits_cfg(digits_teacher_ckpt))
    assert 'ordinary (not slimmable)' in str(error.value)
    assert 'slimmable = dict(init_from=' in str(error.value)


def test_configs_without_a_teacher_are_refused(digits_slimmable_teacher_ckpt):
    plain = Config.fromfile(config_path('demo/resnet8_digits.py'))
    plain.pwkd = dict(teacher_ckpt=digits_slimmable_teacher_ckpt)
    with pytest.raises(ValueError, match='has no teacher'):
        prepare_train_config(plain)
    no_distiller = digits_cfg(digits_slimmable_teacher_ckpt)
    no_distiller.model.pop('distiller')
    with pytest.raises(ValueError, match='has no distiller'):
        prepare_train_config(no_distiller)


@pytest.mark.parametrize('model_type, reason', [
    ('SelfDistill', 'self-distillation'),
    ('DataFreeDistillation', 'data-free distillation'),
    ('mmrazor.DAFLDataFreeDistillation', 'data-free distillation'),
])
def test_methods_pwkd_cannot_apply_to(digits_slimmable_teacher_ckpt,
                                      model_type, reason):
    cfg = digits_cfg(digits_slimmable_teacher_ckpt)
    cfg.model.type = model_type
    with pytest.raises(ValueError, match=f'pwkd cannot apply to .*{reason}'):
        prepare_train_config(cfg)


def test_a_timm_teacher_without_timm_is_refused_before_its_checkpoint_is_read(
        tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'timm', None)  # import timm fails
    cfg = digits_cfg(str(tmp_path / 'no_such_teacher.pth'))
    cfg.model.teacher.backbone = dict(
        type='mmpretrain.TIMMBackbone', model_name='regnety_160')
    with pytest.raises(ValueError, match=r'model.teacher.backbone is a '
                       r'TIMMBackbone, which needs timm, and it is not '
                       r'installed: pip install "pwkd_plugin\[timm\]"'):
        prepare_train_config(cfg)


def test_a_trainable_teacher_is_refused(digits_slimmable_teacher_ckpt):
    cfg = digits_cfg(digits_slimmable_teacher_ckpt)
    cfg.model.teacher_trainable = True
    with pytest.raises(ValueError, match='teacher_trainable=False'):
        prepare_train_config(cfg)


def test_per_stage_connectors_make_ddp_find_unused_parameters(
        digits_slimmable_teacher_ckpt):
    cfg = digits_cfg(digits_slimmable_teacher_ckpt,
                     feature_strategy='per_stage')
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel')
    cfg = prepare_train_config(cfg)
    assert cfg.find_unused_parameters is True
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    # Without per-stage connectors every parameter is used: unchanged.
    cfg = prepare_train_config(digits_cfg(digits_slimmable_teacher_ckpt))
    assert 'find_unused_parameters' not in cfg


def test_per_stage_refuses_find_unused_parameters_false(
        digits_slimmable_teacher_ckpt):
    cfg = digits_cfg(digits_slimmable_teacher_ckpt,
                     feature_strategy='per_stage')
    cfg.find_unused_parameters = False
    with pytest.raises(ValueError, match=re.escape(
            "find_unused_parameters=False cannot train this run under DDP: "
            "pwkd.feature_strategy='per_stage'")):
        prepare_train_config(cfg)
