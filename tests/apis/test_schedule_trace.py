"""The learning rate and teacher width a config trains with, traced."""
import logging
import math
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from pwkd_plugin.apis.schedule_trace import (expand_for_schedule,
                                              trace_schedule)
from pwkd_plugin.engine.hooks import PWKDStageHook

from ..conftest import config_path

PWKD_CIFAR = 'pwkd/resnet_cifar100.py'  # its teacher_ckpt does not exist
PWKD_DIGITS = 'pwkd/pwkd_kd_resnet20_resnet8_digits.py'  # nor does its


def at_epoch(trace, epoch):
    return trace['progress'].index(epoch)


def test_pwkd_stages_restart_a_cosine_cycle():
    cfg = Config.fromfile(config_path(PWKD_CIFAR))
    trace = trace_schedule(cfg, iters_per_epoch=2)

    assert trace['unit'] == 'epoch'
    assert trace['stage_lengths'] == [60, 60, 60, 60]
    assert len(trace['lr']) == 240 * 2
    assert trace['width'] == [0.25] * 120 + [0.5] * 120 + [0.75] * 120 + [
        1.0
    ] * 120
    base, floor = 0.05, 0.05 * 0.01
    for stage, width in enumerate((0.25, 0.5, 0.75, 1.0)):
        start = at_epoch(trace, 60 * stage)
        assert trace['width'][start] == width
        if stage:
            assert trace['width'][start - 1] == width - 0.25
        assert trace['lr'][start] == pytest.approx(base)
        middle = trace['lr'][at_epoch(trace, 60 * stage + 30)]
        assert middle == pytest.approx((base + floor) / 2, rel=1e-6)
        last = trace['lr'][at_epoch(trace, 60 * stage + 59.5)]
        progress = 119 / 120
        assert last == pytest.approx(
            floor + (base - floor) * (1 + math.cos(math.pi * progress)) / 2)


def test_the_base_schedule_of_a_config_without_pwkd():
    cfg = Config.fromfile(config_path('kd/kd_resnet32x4_resnet8x4_cifar100.py'))
    trace = trace_schedule(cfg)
    assert trace['stage_lengths'] is None
    assert set(trace['width']) == {None}
    lr = dict(zip(trace['progress'], trace['lr']))
    assert lr[149] == pytest.approx(0.05)
    assert lr[150] == pytest.approx(0.005)
    assert lr[239] == pytest.approx(0.00005)


def test_widths_come_from_the_teacher_checkpoint(digits_slimmable_teacher_ckpt):
    cfg = Config.fromfile(
        config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'))
    cfg.pwkd.teacher_ckpt = digits_slimmable_teacher_ckpt
    cfg.pwkd.widths = None
    cfg.pwkd.stage_lengths = [2, 4, 6, 8]
    trace = trace_schedule(cfg)
    assert trace['width'] == [0.25] * 2 + [0.5] * 4 + [0.75] * 6 + [1.0] * 8
    starts = [trace['lr'][i] for i in (0, 2, 6, 12)]
    assert starts == pytest.approx([0.1] * 4)


def test_unknown_widths_and_bad_resolution_are_refused():
    cfg = Config.fromfile(config_path(PWKD_CIFAR))
    cfg.pwkd.widths = None
    with pytest.raises(ValueError, match='pwkd.teacher_ckpt .* does not exist'):
        trace_schedule(cfg)
    with pytest.raises(ValueError, match='iters_per_epoch'):
        trace_schedule(Config.fromfile(config_path(PWKD_CIFAR)), 0)


class WidthRecorder:
    """The teacher mutator of a PWKD model, as the stage hook sees it."""

    def __init__(self):
        self.current_width = None

    def set_width(self, width):
        self.current_width = width


def hook_widths(hook_cfg, epochs, iters_per_epoch):
    """The teacher width ``PWKDStageHook`` sets at every iteration, its
    hooks called as the Runner's train loop calls them."""
    cfg = dict(hook_cfg)
    cfg.pop('type')
    hook = PWKDStageHook(**cfg)
    mutator = WidthRecorder()
    runner = SimpleNamespace(
        epoch=0,
        iter=0,
        model=SimpleNamespace(teacher_mutator=mutator),
        optim_wrapper=None,
        logger=logging.getLogger(__name__))
    widths = []
    for epoch in range(epochs):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        for index in range(iters_per_epoch):
            runner.iter = epoch * iters_per_epoch + index
            hook.before_train_iter(runner, index)
            widths.append(mutator.current_width)
    return widths


def stage_hook(cfg):
    """The ``PWKDStageHook`` config the ``pwkd`` block expands to."""
    expanded = expand_for_schedule(Config(cfg.to_dict()))
    return next(h for h in expanded.custom_hooks
                if h['type'].endswith('PWKDStageHook'))


@pytest.mark.parametrize('changes, epochs, iters_per_epoch, counts', [
    # The figures of tests/integration/test_schedule_trace_vs_runner.py.
    ({'pwkd.stage_ratios': (1, 1, 1, 5), 'train_cfg.max_epochs': 8}, 8, 3,
     [3, 3, 3, 15]),
    ({'pwkd.stage_lengths': [2, 2, 3, 3], 'train_cfg.max_epochs': 10}, 10,
     3, [6, 6, 9, 9]),
    # Iteration-based: stages count iterations.
    ({'pwkd.stage_lengths': [1, 2, 3, 4],
      'train_cfg': dict(type='IterBasedTrainLoop', max_iters=10,
                        val_interval=10)}, 1, 10, [1, 2, 3, 4]),
])
def test_every_iterations_width_is_the_stage_hooks(changes, epochs,
                                                    iters_per_epoch, counts):
    cfg = Config.fromfile(config_path(PWKD_DIGITS))
    changes = dict(changes)
    if 'train_cfg' in changes:  # replaced, not merged
        cfg.train_cfg = changes.pop('train_cfg')
    cfg.merge_from_dict(changes)
    by_epoch = 'Iter' not in str(cfg.train_cfg.get('type', ''))
    trace = trace_schedule(cfg, iters_per_epoch if by_epoch else 1)
    expected = [
        width for width, count in zip((0.25, 0.5, 0.75, 1.0), counts)
        for _ in range(count)
    ]
    assert trace['width'] == expected
    assert hook_widths(stage_hook(cfg), epochs, iters_per_epoch) == expected
