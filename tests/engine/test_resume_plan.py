"""Comparing a checkpoint's PWKD plan with the config's."""
import argparse

import pytest
from mmengine.config import Config, DictAction

from pwkd_plugin.config_blocks import check_pwkd_block
from pwkd_plugin.engine.hooks.resume_plan import (PlanChangedError,
                                                  check_resumed_plan,
                                                  plan_changes)

from ..conftest import config_path

CYCLE = dict(mode='cosine', eta_min=None, eta_min_ratio=0.01,
             warmup_length=0, warmup_start_ratio=0.1,
             step_milestones=[0.5, 0.75], gamma=0.1,
             convert_to_iter_based=True)


def plan(total=8, stages=(2, 2, 2, 2), cycle='cosine', strategy='slice',
         widths=(0.25, 0.5, 0.75, 1.0)):
    cycles = None if cycle is None else [dict(CYCLE, mode=cycle)]
    return {
        'train_cfg.max_epochs': total,
        'pwkd.widths': list(widths),
        'pwkd.stage_lengths': list(stages),
        'pwkd.lr_cycle': cycles,
        'pwkd.feature_strategy': strategy,
    }


def recorded_in_iterations(steps_per_epoch=3, warmup=1):
    """A plan as checkpoints before ``convert_to_iter_based`` recorded it:
    the cycle in the scheduler's iterations, with its ``by_epoch``."""
    old = plan()
    del old['pwkd.feature_strategy']
    cycle = dict(CYCLE, warmup_length=warmup * steps_per_epoch,
                 stage_lengths=[2 * steps_per_epoch] * 4, by_epoch=False)
    del cycle['convert_to_iter_based']
    old['pwkd.lr_cycle'] = [cycle]
    return old


def test_the_same_plan_and_an_unrecorded_one_pass():
    assert check_resumed_plan(plan(), plan(), accept=False) == []
    assert check_resumed_plan(None, plan(12, (3, 3, 3, 3)), False) == []
    # A plan recorded in iterations is the same plan in epochs.
    new = plan()
    new['pwkd.lr_cycle'][0]['warmup_length'] = 1
    assert check_resumed_plan(recorded_in_iterations(), new, False) == []


def test_changes_are_named_old_to_new():
    assert plan_changes(plan(), plan(12, (3, 3, 3, 3))) == [
        'train_cfg.max_epochs 8 -> 12',
        'pwkd.stage_lengths [2, 2, 2, 2] -> [3, 3, 3, 3]'
    ]
    assert plan_changes(plan(), plan(cycle='step')) == [
        'pwkd.lr_cycle.mode cosine -> step'
    ]


def plain(value):
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def suggested_options(message):
    """The ``--cfg-options`` items that resume the checkpoint's plan."""
    return message.split('its values: --cfg-options ')[1].split(';')[0].split()


def config_with(options, accept=False):
    """The digits PWKD config with the options as train.py merges them;
    its block as check_pwkd_block resolves it."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg = Config.fromfile(config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'))
    cfg.merge_from_dict(parser.parse_args(['--cfg-options',
                                           *options]).cfg_options)
    return check_pwkd_block(cfg, cfg.pwkd,
                            teacher_widths=[0.25, 0.5, 0.75, 1.0])


def decaying_restarts(a_plan):
    a_plan['pwkd.lr_cycle'] = [dict(CYCLE, peak_decay=0.5)]
    return a_plan


def test_a_plan_recorded_before_peak_decay_restarted_at_the_base_value():
    assert check_resumed_plan(plan(), plan(), accept=False) == []
    recorded = plan()  # CYCLE has no peak_decay, as older checkpoints
    assert plan_changes(recorded, decaying_restarts(plan())) == [
        'pwkd.lr_cycle.peak_decay 1.0 -> 0.5'
    ]


def test_every_suggested_option_is_accepted_by_the_config():
    cases = [
        (plan(), plan(12, (3, 3, 3, 3))),
        (plan(), plan(cycle='step')),
        (plan(cycle=None), plan()),
        (plan(), plan(cycle=None)),
        (plan(), plan(widths=(0.5, 1.0), stages=(4, 4))),
        (plan(), decaying_restarts(plan())),
        (plan(), plan(strategy='per_stage')),
    ]
    for old, new in cases:
        with pytest.raises(PlanChangedError) as error:
            check_resumed_plan(old, new, accept=False)
        options = suggested_options(str(error.value))
        # A config of stage ratios takes the checkpoint's lengths as well.
        for config in ([], ['pwkd.stage_ratios=[1,1,1,1]']):
            block = config_with(config + ['train_cfg.max_epochs=8',
                                          *options])
            # The checkpoint's plan, as the config with the options has it.
            for key, value in old.items():
                if key.startswith('pwkd.'):
                    resolved = plain(block[key[len('pwkd.'):]])
                    if key == 'pwkd.lr_cycle' and value is not None:
                        resolved = [resolved]
                        value = [dict(value[0], peak_decay=value[0].get(
                            'peak_decay', 1.0))]
                    assert resolved == value, (key, options)


def test_refused_unless_accepted():
    with pytest.raises(PlanChangedError) as error:
        check_resumed_plan(plan(), plan(12, (3, 3, 3, 3)), accept=False)
    message = str(error.value)
    assert '--cfg-options pwkd.accept_new_plan=True' in message
    # ... or the options that resume the checkpoint's own plan.
    assert message.endswith('--cfg-options train_cfg.max_epochs=8 '
                            'pwkd.stage_lengths=[2,2,2,2] '
                            'pwkd.stage_ratios=None')
    assert check_resumed_plan(plan(), plan(12, (3, 3, 3, 3)), accept=True)


def test_model_changes_are_refused_even_when_accepted():
    for new in (plan(strategy='per_stage'),
                plan(strategy='per_stage', widths=(0.5, 0.75, 1.0, 1.0))):
        old = plan(strategy='per_stage') if new['pwkd.widths'][0] == 0.5 \
            else plan()
        with pytest.raises(PlanChangedError) as error:
            check_resumed_plan(old, new, accept=True)
        message = str(error.value)
        assert "changes the model's parameters" in message
        assert 'load_from=CHECKPOINT' in message
    # Widths alone change no parameter of the slicing strategies.
    assert check_resumed_plan(plan(), plan(widths=(0.5, 0.75, 0.9, 1.0)),
                              accept=True)


def test_what_cannot_be_applied_is_refused_even_when_accepted():
    # The base schedule's schedulers restore their own length.
    with pytest.raises(PlanChangedError, match='pwkd.lr_cycle=None'):
        check_resumed_plan(
            plan(cycle=None), plan(12, (3, 3, 3, 3), cycle=None), accept=True)
    assert check_resumed_plan(
        plan(cycle=None), plan(stages=(1, 1, 1, 5), cycle=None), accept=True)
    # Scheduler states of the other schedule.
    with pytest.raises(PlanChangedError, match='base schedule'):
        check_resumed_plan(plan(), plan(cycle=None), accept=True)
