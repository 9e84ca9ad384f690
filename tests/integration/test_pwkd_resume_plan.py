"""After --resume, stage, teacher width and learning rate follow one plan.

A checkpoint of one plan resumed under another is refused, naming what
changed; with ``pwkd.accept_new_plan=True`` the config's plan is followed by
all three, exactly as an uninterrupted run of that plan has them.
"""
import os.path as osp

import pytest

from pwkd_plugin.engine.hooks.resume_plan import PlanChangedError

from .test_pwkd_training import pwkd_digits_cfg, run

ITERS_PER_EPOCH = 3  # 24 training images, batches of 8


@pytest.fixture(scope='module')
def eight_epoch_run(tmp_path_factory, digits_slimmable_teacher_ckpt):
    """A run of 8 epochs in stages [2, 2, 2, 2]; a checkpoint per epoch."""
    work_dir = str(tmp_path_factory.mktemp('plan_8_epochs'))
    _, records = run(pwkd_digits_cfg(work_dir, digits_slimmable_teacher_ckpt))
    assert len(records) == 8 * ITERS_PER_EPOCH
    return work_dir


def resumed_cfg(work_dir, teacher, checkpoint, max_epochs=8, **pwkd):
    cfg = pwkd_digits_cfg(work_dir, teacher, max_epochs=max_epochs, **pwkd)
    cfg.resume = True
    cfg.load_from = checkpoint
    return cfg


def test_another_plan_is_refused_before_any_step(
        tmp_path, eight_epoch_run, digits_slimmable_teacher_ckpt):
    checkpoint = osp.join(eight_epoch_run, 'epoch_5.pth')
    cases = [
        (dict(max_epochs=12), [
            'train_cfg.max_epochs 8 -> 12',
            'pwkd.stage_lengths [2, 2, 2, 2] -> [3, 3, 3, 3]'
        ]),
        (dict(stage_lengths=[1, 1, 1, 5]),
         ['pwkd.stage_lengths [2, 2, 2, 2] -> [1, 1, 1, 5]']),
        (dict(lr_cycle=dict(mode='step')), ['pwkd.lr_cycle.mode cosine -> '
                                            'step']),
    ]
    for index, (change, named) in enumerate(cases):
        cfg = resumed_cfg(
            str(tmp_path / str(index)), digits_slimmable_teacher_ckpt,
            checkpoint, **change)
        with pytest.raises(PlanChangedError) as error:
            run(cfg)
        message = str(error.value)
        for text in named:
            assert text in message
        assert 'pwkd.accept_new_plan=True' in message
        # Nothing trained, nothing written.
        assert not [n for n in osp.os.listdir(cfg.work_dir)
                    if n.endswith('.pth')]


@pytest.mark.parametrize('resume_epoch, max_epochs, pwkd', [
    (5, 12, dict()),  # lengthened: stages [2]*4 -> [3]*4
    (3, 6, dict()),  # shortened: stages [2]*4 -> [1, 1, 2, 2]
    (5, 8, dict(stage_lengths=[1, 1, 1, 5])),  # stages re-split
])
def test_an_accepted_plan_is_followed_by_stage_width_and_lr(
        tmp_path, eight_epoch_run, digits_slimmable_teacher_ckpt,
        resume_epoch, max_epochs, pwkd):
    teacher = digits_slimmable_teacher_ckpt
    _, uninterrupted = run(
        pwkd_digits_cfg(str(tmp_path / 'uninterrupted'), teacher,
                        max_epochs=max_epochs, **pwkd))
    cfg = resumed_cfg(
        str(tmp_path / 'resumed'), teacher,
        osp.join(eight_epoch_run, f'epoch_{resume_epoch}.pth'), max_epochs,
        accept_new_plan=True, **pwkd)
    _, resumed = run(cfg)
    # (epoch, iteration, stage, teacher width, lr) of every step.
    assert resumed == uninterrupted[resume_epoch * ITERS_PER_EPOCH:]
    assert len(resumed) == (max_epochs - resume_epoch) * ITERS_PER_EPOCH


def test_the_stage_log_after_resume_names_the_stage_start(
        tmp_path, eight_epoch_run, digits_slimmable_teacher_ckpt):
    cfg = resumed_cfg(
        str(tmp_path), digits_slimmable_teacher_ckpt,
        osp.join(eight_epoch_run, 'epoch_5.pth'))
    cfg.log_level = 'INFO'
    runner, _ = run(cfg)
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    # Stage 3 (epochs 5 and 6) began at epoch 5; the run resumed at epoch 6.
    assert ('PWKD stage 3/4: teacher width 0.75 from epoch 5 (resumed at '
            'epoch 6)') in log
    assert 'PWKD stage 4/4: teacher width 1 from epoch 7\n' in log
    assert 'followed another PWKD plan' not in log
