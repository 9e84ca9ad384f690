"""An exported width and an extracted student train with mmpretrain's own
tools/train.py, their configs as written (data, schedule, optimizer and
load_from carried over)."""
import os
import os.path as osp
import subprocess
import sys

import mmpretrain
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.export import export_student, export_width

from ..conftest import REPO_ROOT, config_path, shrink

MMPRETRAIN_TRAIN = osp.join(
    osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'train.py')


def fine_tune_one_epoch(config, work_dir):
    """mmpretrain's tools/train.py, one short epoch."""
    result = subprocess.run([
        sys.executable, MMPRETRAIN_TRAIN, config, '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=1',
        'train_dataloader.dataset.indices=16',
        'val_dataloader.dataset.indices=8', 'train_cfg.val_interval=1'
    ], capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO_ROOT))
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_an_exported_width_and_an_extracted_student_fine_tune(
        tmp_path, digits_slimmable_teacher_ckpt):
    width = export_width(
        config_path('pwkd/teachers/slimmable_resnet20_digits.py'),
        digits_slimmable_teacher_ckpt, 0.5, str(tmp_path / 'width'))
    exported = Config.fromfile(width['config'])
    assert exported.load_from == width['checkpoint']
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg'):
        assert key in exported, key
    log = fine_tune_one_epoch(width['config'], str(tmp_path / 'tune_width'))
    assert f'Load checkpoint from {width["checkpoint"]}' in log
    assert osp.isfile(osp.join(tmp_path, 'tune_width', 'epoch_1.pth'))

    cfg = Config.fromfile(
        config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'))
    cfg.pwkd.teacher_ckpt = digits_slimmable_teacher_ckpt
    shrink(cfg, str(tmp_path / 'pwkd'), num_train=16, num_val=8,
           max_epochs=4, batch_size=8)
    Runner.from_cfg(prepare_train_config(cfg)).train()
    student = export_student(
        cfg.filename, str(tmp_path / 'pwkd' / 'epoch_4.pth'),
        str(tmp_path / 'student'))
    log = fine_tune_one_epoch(student['config'],
                              str(tmp_path / 'tune_student'))
    assert f'Load checkpoint from {student["checkpoint"]}' in log
    tuned = torch.load(osp.join(tmp_path, 'tune_student', 'epoch_1.pth'))
    assert not any(k.startswith('teacher.') for k in tuned['state_dict'])
