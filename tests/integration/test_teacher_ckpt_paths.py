"""The CIFAR-100 KD and PWKD configs name the checkpoint their teacher's
config writes: ``work_dirs/<teacher config>/epoch_<max_epochs>.pth``, kept
by its checkpoint hook (``tools/train.py`` names the work dir after the
config)."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from ..conftest import config_path

STUDENT_CONFIGS = sorted(
    glob.glob(config_path('kd/*_cifar100.py')) +
    glob.glob(config_path('pwkd/pwkd_*_cifar100.py')))
#: Where each kind of teacher config lives.
TEACHER_DIRS = ('cifar100', 'pwkd/teachers')


def teacher_ckpt(cfg):
    return cfg.pwkd.teacher_ckpt if cfg.get('pwkd') else \
        cfg.model.teacher_ckpt


def last_checkpoint_written(teacher_cfg):
    """The epoch of the last checkpoint the teacher's run keeps."""
    epochs = teacher_cfg.train_cfg.max_epochs
    hook = teacher_cfg.default_hooks.checkpoint
    if epochs % hook.interval and not hook.get('save_last', True):
        return None
    return epochs


@pytest.mark.parametrize('student', STUDENT_CONFIGS, ids=osp.basename)
def test_teacher_ckpt_is_a_file_the_teacher_run_writes(student):
    path = teacher_ckpt(Config.fromfile(student))
    match = re.fullmatch(r'work_dirs/([^/]+)/epoch_(\d+)\.pth', path)
    assert match, f'{path}: not work_dirs/<config>/epoch_<N>.pth'
    name, epoch = match.group(1), int(match.group(2))
    found = [
        config_path(f'{folder}/{name}.py') for folder in TEACHER_DIRS
        if osp.isfile(config_path(f'{folder}/{name}.py'))
    ]
    assert found, f'no teacher config {name}.py for {path}'
    assert last_checkpoint_written(Config.fromfile(found[0])) == epoch
