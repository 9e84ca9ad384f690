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
    return resuming(cfg, checkpoint)


def resuming(cfg, checkpoint):
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
        # The options it suggests resume the checkpoint's plan.
        options = message.split('its values: --cfg-options ')[1].split()
        changed = dict(change)
        max_epochs = changed.pop('max_epochs', 8)
        cfg = resuming(
            pwkd_digits_cfg(str(tmp_path / f'{index}_as_suggested'),
                            digits_slimmable_teacher_ckpt, max_epochs,
                            options=options, **changed), checkpoint)
        _, records = run(cfg)
        assert len(records) == 3 * ITERS_PER_EPOCH, options


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


def test_another_epoch_length_continues_the_cycle_at_the_same_epoch(
        tmp_path, eight_epoch_run, digits_slimmable_teacher_ckpt):
    """Another number of iterations per epoch (as another number of
    processes has): the same stages in epochs, the cycle in the new
    iterations, no refusal."""
    teacher = digits_slimmable_teacher_ckpt
    options = ['train_dataloader.batch_size=4']  # 6 iterations per epoch
    _, uninterrupted = run(
        pwkd_digits_cfg(str(tmp_path / 'uninterrupted'), teacher,
                        options=options))
    cfg = resuming(
        pwkd_digits_cfg(str(tmp_path / 'resumed'), teacher, options=options),
        osp.join(eight_epoch_run, 'epoch_3.pth'))
    cfg.log_level = 'INFO'
    runner, resumed = run(cfg)

    def without_iteration(records):
        return [(e, stage, width, lr) for e, _, stage, width, lr in records]

    assert without_iteration(resumed) == without_iteration(
        uninterrupted[3 * 6:])
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        assert ('the checkpoint had 3 iterations per epoch, this run has 6'
                in f.read())


def test_another_feature_strategy_is_refused_before_the_weights_load(
        tmp_path, digits_slimmable_teacher_ckpt):
    fitnet = 'demo/fitnet_resnet20_resnet8_digits.py'
    first = str(tmp_path / 'per_stage')
    run(pwkd_digits_cfg(first, digits_slimmable_teacher_ckpt, 2,
                        config=fitnet, widths=[0.5, 1.0],
                        feature_strategy='per_stage'))
    cfg = resuming(
        pwkd_digits_cfg(str(tmp_path / 'slice'),
                        digits_slimmable_teacher_ckpt, 2, config=fitnet,
                        widths=[0.5, 1.0]),
        osp.join(first, 'epoch_1.pth'))
    with pytest.raises(PlanChangedError) as error:
        run(cfg)
    message = str(error.value)
    assert 'pwkd.feature_strategy per_stage -> slice' in message
    assert "changes the model's parameters" in message
    assert 'its values: --cfg-options pwkd.feature_strategy=per_stage' \
        in message


def test_resuming_the_finished_run_says_nothing_is_left(
        tmp_path, eight_epoch_run, digits_slimmable_teacher_ckpt):
    cfg = resumed_cfg(str(tmp_path), digits_slimmable_teacher_ckpt,
                      osp.join(eight_epoch_run, 'epoch_8.pth'))
    cfg.log_level = 'INFO'
    runner, records = run(cfg)
    assert records == []
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    assert ('the resumed checkpoint has trained all 8 epochs of the run: '
            'nothing is left to train') in log
    assert 'resumed at epoch 9' not in log
