"""PWKDCyclicLR: restarts per stage, closed form, resume, iteration units."""
import math

import pytest
import torch

from pwkd_plugin.engine.schedulers import PWKDCyclicLR


def optimizer(lr=0.1):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def values(scheduler, steps):
    lrs = []
    for _ in range(steps):
        lrs.append(scheduler.optimizer.param_groups[0]['lr'])
        scheduler.optimizer.step()
        scheduler.step()
    return lrs


def test_cosine_restarts_at_every_stage():
    lrs = values(PWKDCyclicLR(optimizer(), stage_lengths=[4, 4, 2]), 10)
    floor = 0.1 * 0.01
    expected = [
        floor + (0.1 - floor) * (1 + math.cos(math.pi * t / n)) / 2
        for n in (4, 4, 2) for t in range(n)
    ]
    assert lrs == pytest.approx(expected)
    assert lrs[0] == lrs[4] == lrs[8] == pytest.approx(0.1)


def test_peak_decay_lowers_each_restart():
    lrs = values(PWKDCyclicLR(optimizer(), stage_lengths=[4, 4, 2],
                              peak_decay=0.5), 10)
    floor = 0.1 * 0.01
    expected = [
        floor + (peak - floor) * (1 + math.cos(math.pi * t / n)) / 2
        for n, peak in ((4, 0.1), (4, 0.05), (2, 0.025)) for t in range(n)
    ]
    assert lrs == pytest.approx(expected)
    step = values(
        PWKDCyclicLR(optimizer(), stage_lengths=[2, 2], mode='step',
                     step_milestones=(0.5, ), gamma=0.1, peak_decay=0.5), 4)
    assert step == pytest.approx([0.1, 0.01, 0.05, 0.005])


def test_step_mode_and_warmup():
    step = values(
        PWKDCyclicLR(optimizer(), stage_lengths=[4, 4], mode='step',
                     step_milestones=(0.5, ), gamma=0.1), 8)
    assert step == pytest.approx([0.1, 0.1, 0.01, 0.01] * 2)
    warm = values(
        PWKDCyclicLR(optimizer(), stage_lengths=[4, 4], mode='constant',
                     warmup_length=2, warmup_start_ratio=0.5), 8)
    assert warm == pytest.approx([0.05, 0.075, 0.1, 0.1] * 2)


def test_epochs_convert_to_iterations():
    by_epoch = PWKDCyclicLR.build_iter_from_epoch(
        optimizer(), stage_lengths=[2, 2], warmup_length=1, by_epoch=True,
        epoch_length=3)
    by_iter = PWKDCyclicLR(optimizer(), stage_lengths=[6, 6],
                           warmup_length=3, by_epoch=False)
    assert not by_epoch.by_epoch
    assert values(by_epoch, 12) == pytest.approx(values(by_iter, 12))


def test_resumed_scheduler_continues_the_same_values():
    first = PWKDCyclicLR(optimizer(), stage_lengths=[5, 5])
    full = values(first, 10)
    interrupted = PWKDCyclicLR(optimizer(), stage_lengths=[5, 5])
    values(interrupted, 3)
    state = interrupted.state_dict()
    resumed_optimizer = optimizer()
    resumed_optimizer.param_groups[0]['initial_lr'] = 0.1
    resumed = PWKDCyclicLR(resumed_optimizer, stage_lengths=[5, 5])
    resumed.load_state_dict(state)
    resumed.optimizer.param_groups[0]['lr'] = resumed._get_value()[0]
    assert values(resumed, 7) == pytest.approx(full[3:])


@pytest.mark.parametrize('kwargs, key', [
    (dict(stage_lengths=[]), 'stage_lengths'),
    (dict(stage_lengths=[3], mode='exp'), 'mode'),
    (dict(stage_lengths=[3], warmup_length=3), 'warmup_length'),
    (dict(stage_lengths=[3], gamma=2), 'gamma'),
    (dict(stage_lengths=[3], step_milestones=(0.8, 0.2)), 'step_milestones'),
    (dict(stage_lengths=[3], peak_decay=1.5), 'peak_decay'),
])
def test_bad_settings_name_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        PWKDCyclicLR(optimizer(), **kwargs)
