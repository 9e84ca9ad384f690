"""The learning rate and teacher width a config trains with, traced."""
import math

import pytest
from mmengine.config import Config

from pwkd_plugin.apis.schedule_trace import trace_schedule

from ..conftest import config_path

PWKD_CIFAR = 'pwkd/resnet_cifar100.py'  # its teacher_ckpt does not exist


def at_epoch(trace, epoch):
    return trace['progress'].index(epoch)


def test_pwkd_stages_restart_a_cosine_cycle():
    cfg = Config.fromfile(config_path(PWKD_CIFAR))
    trace = trace_schedule(cfg, iters_per_epoch=2)

    assert trace['unit'] == 'epoch'
    assert trace['stage_lengths'] == [60, 60, 60, 60]
    assert len(trace['lr']) == 240 * 2
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
