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

from pwkd_plugin.apis import prepare_train_config
from pwkd_plugin.apis.schedule_trace import trace_schedule

from ..conftest import config_path, shrink

ITERS_PER_EPOCH = 3  # 24 training images, batches of 8
EPOCHS = 4


@HOOKS.register_module(force=True)
class RecordLR(Hook):
    """The learning rate each training iteration runs with."""

    priority = 'LOWEST'
    lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        RecordLR.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


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
])
def test_the_trace_is_what_the_runner_runs(
        tmp_path, digits_teacher_ckpt, digits_slimmable_teacher_ckpt, name,
        changes):
    traced = trace_schedule(
        config(name, digits_teacher_ckpt, digits_slimmable_teacher_ckpt,
               **changes), ITERS_PER_EPOCH)['lr']

    cfg = prepare_train_config(
        config(name, digits_teacher_ckpt, digits_slimmable_teacher_ckpt,
               **changes))
    max_epochs = cfg.train_cfg.max_epochs
    shrink(cfg, str(tmp_path), num_train=24, num_val=8,
           max_epochs=max_epochs, batch_size=8)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='RecordLR')
    ]
    RecordLR.lrs = []
    Runner.from_cfg(cfg).train()

    assert len(RecordLR.lrs) == max_epochs * ITERS_PER_EPOCH
    assert traced == pytest.approx(RecordLR.lrs, rel=1e-9, abs=1e-12)
    # A schedule that moves (none of these holds the lr constant).
    assert max(traced) > 2 * min(traced)
