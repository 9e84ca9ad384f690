"""The traced schedule (tools/plot_schedule.py) is what a real Runner runs.

Each config trains a few short epochs in a real Runner that records the
learning rate of every iteration; the trace of the same config, at the same
epoch length, must give the same values.
"""
import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from pwkd_plugin.apis.schedule_trace import trace_schedule
from pwkd_plugin.config_blocks import prepare_train_config

from ..conftest import config_path, shrink

ITERS_PER_EPOCH = 3  # 24 training images, batches of 8
EPOCHS = 4


@HOOKS.register_module(force=True)
class RecordLR(Hook):
    """The learning rate and teacher width each training iteration runs
    with (the width is None without a PWKD teacher)."""

    priority = 'LOWEST'
    lrs = []
    widths = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        RecordLR.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])
        mutator = getattr(runner.model, 'teacher_mutator', None)
        RecordLR.widths.append(mutator.current_width if mutator else None)


WARMUP_THEN_COSINE = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
    dict(type='CosineAnnealingLR', by_epoch=True, convert_to_iter_based=True,
         eta_min=1e-3, begin=0),  # `end` from the Runner, in iterations
]


def config(name, teacher, slimmable_teacher, **changes):
    cfg = Config.fromfile(config_path(name))
    if 'pwkd' in cfg:
        cfg.pwkd.teacher_ckpt = slimmable_teacher
    else:
        cfg.model.teacher_ckpt = teacher
    cfg.train_cfg.max_epochs = EPOCHS
    cfg.merge_from_dict(changes)
    return cfg


@pytest.mark.parametrize('name, changes', [
    ('demo/kd_resnet20_resnet8_digits.py', {}),
    ('demo/dkd_resnet20_resnet8_digits.py', {}),
    ('demo/fitnet_resnet20_resnet8_digits.py', {}),
    ('demo/kd_resnet20_resnet8_digits.py',
     dict(param_scheduler=WARMUP_THEN_COSINE)),
    ('pwkd/pwkd_kd_resnet20_resnet8_digits.py', {}),
    ('pwkd/pwkd_kd_resnet20_resnet8_digits.py', {'pwkd.lr_cycle': None}),
    ('pwkd/pwkd_kd_resnet20_resnet8_digits.py',
     {'pwkd.lr_cycle': dict(mode='step', warmup_length=1),
      'pwkd.stage_lengths': [2, 2, 3, 3], 'train_cfg.max_epochs': 10}),
    ('pwkd/pwkd_kd_resnet20_resnet8_digits.py',
     {'pwkd.lr_cycle': None, 'pwkd.stage_ratios': (1, 1, 1, 5),
      'train_cfg.max_epochs': 8}),
    ('pwkd/pwkd_kd_resnet20_resnet8_digits.py',
     {'pwkd.lr_cycle': dict(mode='cosine', peak_decay=0.5)}),
])
def test_the_trace_is_what_the_runner_runs(
        tmp_path, digits_teacher_ckpt, digits_slimmable_teacher_ckpt, name,
        changes):
    trace = trace_schedule(
        config(name, digits_teacher_ckpt, digits_slimmable_teacher_ckpt,
               **changes), ITERS_PER_EPOCH)
    traced = trace['lr']

    cfg = prepare_train_config(
        config(name, digits_teacher_ckpt, digits_slimmable_teacher_ckpt,
               **changes))
    max_epochs = cfg.train_cfg.max_epochs
    shrink(cfg, str(tmp_path), num_train=24, num_val=8,
           max_epochs=max_epochs, batch_size=8)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='RecordLR')
    ]
    RecordLR.lrs, RecordLR.widths = [], []
    Runner.from_cfg(cfg).train()

    assert len(RecordLR.lrs) == max_epochs * ITERS_PER_EPOCH
    assert traced == pytest.approx(RecordLR.lrs, rel=1e-9, abs=1e-12)
    assert trace['width'] == RecordLR.widths
    if 'pwkd' in name:  # every stage's width in turn, narrowest first
        assert sorted(set(RecordLR.widths)) == [0.25, 0.5, 0.75, 1.0]
        assert RecordLR.widths == sorted(RecordLR.widths)
    if 'pwkd.stage_ratios' in changes:  # (1, 1, 1, 5) of 8 epochs
        assert [RecordLR.widths.count(w) for w in (0.25, 0.5, 0.75, 1.0)
                ] == [3, 3, 3, 15]
    if changes.get('pwkd.lr_cycle', {}) and \
            'peak_decay' in changes['pwkd.lr_cycle']:
        starts = RecordLR.lrs[::ITERS_PER_EPOCH]  # stages of 1 epoch
        base = cfg.optim_wrapper.optimizer.lr
        assert starts == pytest.approx([base * 0.5**k for k in range(4)])
    # A schedule that moves (none of these holds the lr constant).
    assert max(traced) > 2 * min(traced)
