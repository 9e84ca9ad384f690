"""Comparing a checkpoint's PWKD plan with the config's."""
import pytest

from pwkd_plugin.engine.hooks.resume_plan import (PlanChangedError,
                                                  check_resumed_plan,
                                                  plan_changes)


def plan(total=8, stages=(2, 2, 2, 2), cycle='cosine', steps_per_epoch=3):
    cycles = None if cycle is None else [
        dict(stage_lengths=[n * steps_per_epoch for n in stages],
             by_epoch=False, mode=cycle, eta_min=None, eta_min_ratio=0.01,
             warmup_length=0, warmup_start_ratio=0.1,
             step_milestones=[0.5, 0.75], gamma=0.1)
    ]
    return {
        'train_cfg.max_epochs': total,
        'pwkd.widths': [0.25, 0.5, 0.75, 1.0],
        'pwkd.stage_lengths': list(stages),
        'pwkd.lr_cycle': cycles,
    }


def test_the_same_plan_and_an_unrecorded_one_pass():
    assert check_resumed_plan(plan(), plan(), accept=False) == []
    assert check_resumed_plan(None, plan(12, (3, 3, 3, 3)), False) == []


def test_changes_are_named_old_to_new():
    assert plan_changes(plan(), plan(12, (3, 3, 3, 3))) == [
        'train_cfg.max_epochs 8 -> 12',
        'pwkd.stage_lengths [2, 2, 2, 2] -> [3, 3, 3, 3]'
    ]
    assert plan_changes(plan(), plan(cycle='step')) == [
        'pwkd.lr_cycle.mode cosine -> step'
    ]
    # Another epoch length shows in the cycle's steps alone.
    assert plan_changes(plan(), plan(steps_per_epoch=4)) == [
        'pwkd.lr_cycle.stage_lengths [6, 6, 6, 6] -> [8, 8, 8, 8]'
    ]


def test_refused_unless_accepted():
    with pytest.raises(PlanChangedError) as error:
        check_resumed_plan(plan(), plan(12, (3, 3, 3, 3)), accept=False)
    message = str(error.value)
    assert '--cfg-options pwkd.accept_new_plan=True' in message
    # ... or the options that resume the checkpoint's own plan.
    assert message.endswith('--cfg-options train_cfg.max_epochs=8 '
                            'pwkd.stage_lengths=[2,2,2,2]')
    assert check_resumed_plan(plan(), plan(12, (3, 3, 3, 3)), accept=True)


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
