"""PWKD student training in real Runners: stages, widths, LR cycle, resume."""
import argparse
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from pwkd_plugin.config_blocks import prepare_train_config

from ..conftest import REPO_ROOT, config_path, shrink


@HOOKS.register_module(force=True)
class RecordPWKDProgress(Hook):
    """Records (epoch, iter, stage, teacher width, lr) of every iteration,
    width and lr as the iteration used them."""

    records = []
    priority = 'LOWEST'

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.used = (model.teacher_mutator.current_width,
                     runner.optim_wrapper.get_lr()['lr'][0])

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        stage = runner.message_hub.get_scalar('train/pwkd/stage').current()
        RecordPWKDProgress.records.append(
            (runner.epoch, runner.iter, stage) + self.used)


def pwkd_digits_cfg(work_dir, teacher_ckpt, max_epochs=8, options=(),
                    config='pwkd/pwkd_kd_resnet20_resnet8_digits.py',
                    **pwkd):
    """A short digits PWKD run; ``options``: ``--cfg-options`` items
    merged last, as tools/train.py merges them."""
    cfg = Config.fromfile(config_path(config))
    cfg.setdefault('pwkd', dict())
    cfg.pwkd.teacher_ckpt = teacher_ckpt
    cfg.pwkd.update(pwkd)
    shrink(cfg, work_dir, num_train=24, num_val=8, max_epochs=max_epochs,
           batch_size=8)
    # Without random augmentation, a resumed run sees the same batches.
    cfg.train_dataloader.dataset.pipeline = [dict(type='PackInputs')]
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.custom_hooks = [dict(type='RecordPWKDProgress')]
    if options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(
            parser.parse_args(['--cfg-options', *options]).cfg_options)
    return prepare_train_config(cfg)


def run(cfg):
    RecordPWKDProgress.records = []
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner, list(RecordPWKDProgress.records)


def test_stages_widths_and_lr_cycle_by_epoch(tmp_path,
                                             digits_slimmable_teacher_ckpt):
    runner, records = run(
        pwkd_digits_cfg(str(tmp_path), digits_slimmable_teacher_ckpt))
    # 8 epochs of 3 iterations; stages of 2 epochs at widths .25 .. 1.
    assert len(records) == 24
    for epoch, _, stage, width, _ in records:
        assert stage == epoch // 2 + 1
        assert width == (0.25, 0.5, 0.75, 1.0)[epoch // 2]
    lrs = [record[4] for record in records]
    base_lr = 0.1
    # The cycle restarts at the base lr at every stage start and decays in it.
    for start in range(0, 24, 6):
        assert abs(lrs[start] - base_lr) < 1e-9
        stage = lrs[start:start + 6]
        assert all(a > b for a, b in zip(stage, stage[1:]))
    # The teacher is in eval mode and frozen, whatever the stage.
    model = runner.model
    model.train()
    assert model.student.training and not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())


def test_iteration_based_stages(tmp_path, digits_slimmable_teacher_ckpt):
    cfg = Config.fromfile(config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'))
    cfg.pwkd.teacher_ckpt = digits_slimmable_teacher_ckpt
    shrink(cfg, str(tmp_path), num_train=24, num_val=8, batch_size=8)
    cfg.train_cfg = dict(by_epoch=False, max_iters=8, val_interval=8)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=8)
    cfg.custom_hooks = [dict(type='RecordPWKDProgress')]
    cfg = prepare_train_config(cfg)
    scheduler = cfg.param_scheduler[-1]
    assert scheduler.type == 'mmrazor.PWKDCyclicLR'
    assert scheduler.by_epoch is False and scheduler.stage_lengths == [2] * 4
    _, records = run(cfg)
    assert [r[3] for r in records] == [0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1]
    assert [round(r[4], 9) for r in records[::2]] == [0.1] * 4


def _final_weights(work_dir, epoch):
    return torch.load(osp.join(work_dir, f'epoch_{epoch}.pth'))['state_dict']


@HOOKS.register_module(force=True)
class StopAfterEpoch(Hook):
    """Ends training after an epoch, as an interrupted job would."""

    priority = 'LOWEST'  # after CheckpointHook has saved the epoch

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch == self.epoch:
            raise KeyboardInterrupt


def test_resume_inside_a_stage_and_at_a_boundary(
        tmp_path, digits_slimmable_teacher_ckpt):
    full_dir = str(tmp_path / 'uninterrupted')
    _, full = run(pwkd_digits_cfg(full_dir, digits_slimmable_teacher_ckpt))
    final = _final_weights(full_dir, 8)
    iters_per_epoch = len(full) // 8
    # Epoch 3 ends inside stage 2; epoch 4 ends at the stage 2/3 boundary.
    for stop in (3, 4):
        work_dir = str(tmp_path / f'stopped_after_{stop}')
        stopped = pwkd_digits_cfg(work_dir, digits_slimmable_teacher_ckpt)
        stopped.custom_hooks.append(dict(type='StopAfterEpoch', epoch=stop))
        with pytest.raises(KeyboardInterrupt):
            run(stopped)
        resume_cfg = pwkd_digits_cfg(work_dir, digits_slimmable_teacher_ckpt)
        resume_cfg.resume = True
        resume_cfg.load_from = osp.join(work_dir, f'epoch_{stop}.pth')
        _, resumed = run(resume_cfg)
        # The same (epoch, iteration, stage, teacher width, lr) sequence ...
        assert resumed == full[stop * iters_per_epoch:]
        # ... and the same weights at the end.
        resumed_final = _final_weights(work_dir, 8)
        assert resumed_final.keys() == final.keys()
        for key, value in final.items():
            assert torch.equal(resumed_final[key], value), key


def test_student_taken_out_loads_with_plain_mmpretrain(
        tmp_path, digits_slimmable_teacher_ckpt):
    work_dir = str(tmp_path / 'run')
    runner, _ = run(
        pwkd_digits_cfg(work_dir, digits_slimmable_teacher_ckpt,
                        max_epochs=4))
    out_dir = str(tmp_path / 'student')
    tool = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'extract_student.py'),
        config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'),
        osp.join(work_dir, 'epoch_4.pth'), '--out-dir', out_dir,
        '--cfg-options', f'pwkd.teacher_ckpt={digits_slimmable_teacher_ckpt}'
    ], capture_output=True, text=True, timeout=300)
    assert tool.returncode == 0, tool.stderr[-2000:]
    assert 'student checkpoint' in tool.stdout
    # Loaded by mmpretrain alone (the plugin only for the CIFAR backbone).
    inputs = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    torch.save(inputs, str(tmp_path / 'inputs.pth'))
    script = (
        'import sys, torch\n'
        'from mmpretrain.apis import init_model\n'
        f'model = init_model({out_dir!r} + "/student.py", '
        f'{out_dir!r} + "/student.pth", device="cpu")\n'
        f'inputs = torch.load({str(tmp_path / "inputs.pth")!r})\n'
        'out = model(model.data_preprocessor({"inputs": list(inputs * 127.5 '
        '+ 127.5)})["inputs"], mode="tensor")\n'
        'assert type(model).__module__.startswith("mmpretrain.")\n'
        f'torch.save(out, {str(tmp_path / "out.pth")!r})\n')
    loaded = subprocess.run([sys.executable, '-c', script],
                            capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    student = runner.model.student.eval()
    with torch.no_grad():
        expected = student(
            runner.model.data_preprocessor(
                {'inputs': list(inputs * 127.5 + 127.5)})['inputs'],
            mode='tensor')
    actual = torch.load(str(tmp_path / 'out.pth'))
    assert (actual - expected).abs().max() <= 1e-5


def test_parts_work_from_a_plain_config_without_the_block(
        tmp_path, digits_slimmable_teacher_ckpt):
    """PWKDDistill, PWKDStageHook and PWKDCyclicLR named in a config by
    hand, as a user would without the ``pwkd`` block."""
    cfg = Config.fromfile(config_path('demo/kd_resnet20_resnet8_digits.py'))
    shrink(cfg, str(tmp_path), num_train=24, num_val=8, max_epochs=4,
           batch_size=8)
    cfg.model.type = 'PWKDDistill'
    cfg.model.teacher_ckpt = digits_slimmable_teacher_ckpt
    cfg.model.widths = [0.5, 1.0]
    cfg.param_scheduler = [
        dict(type='mmrazor.PWKDCyclicLR', stage_lengths=[2, 2], by_epoch=True)
    ]
    cfg.custom_hooks = [
        dict(type='mmrazor.PWKDStageHook', widths=[0.5, 1.0],
             stage_lengths=[2, 2]),
        dict(type='RecordPWKDProgress')
    ]
    _, records = run(cfg)
    assert [r[3] for r in records] == [0.5] * 6 + [1.0] * 6
    lrs = [r[4] for r in records]
    assert lrs[0] == pytest.approx(0.1) and lrs[6] == pytest.approx(0.1)
    assert lrs[3] < lrs[0] and lrs[9] < lrs[6]
