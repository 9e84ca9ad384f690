"""mmrazor's SingleTeacherDistill (KD) trained by a real mmengine Runner."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from pwkd_plugin.testing import cifar_md5_check_disabled, write_fake_cifar100

from ..conftest import config_path, shrink


def _kd_digits_cfg(work_dir, teacher_ckpt, max_epochs):
    cfg = Config.fromfile(config_path('demo/kd_resnet20_resnet8_digits.py'))
    cfg.model.teacher_ckpt = teacher_ckpt
    return shrink(cfg, work_dir, max_epochs=max_epochs)


def test_kd_trains_saves_and_resumes(tmp_path, digits_teacher_ckpt):
    work_dir = str(tmp_path / 'kd')
    runner = Runner.from_cfg(_kd_digits_cfg(work_dir, digits_teacher_ckpt, 2))
    teacher_before = {
        k: v.clone()
        for k, v in runner.model.teacher.state_dict().items()
    }
    runner.train()
    assert runner.epoch == 2
    ckpt_path = osp.join(work_dir, 'epoch_2.pth')
    ckpt = torch.load(ckpt_path)
    assert {'meta', 'state_dict', 'optimizer', 'message_hub'} <= set(ckpt)
    # The student learned; the teacher (loaded from its checkpoint) did not.
    teacher_ckpt = torch.load(digits_teacher_ckpt)['state_dict']
    for key, value in runner.model.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key])
        assert torch.equal(value, teacher_ckpt[key])
    scalars = runner.message_hub.log_scalars
    assert 'train/distill.loss_kl' in scalars
    assert torch.isfinite(
        torch.tensor(scalars['train/distill.loss_kl'].current()))

    resume_cfg = _kd_digits_cfg(work_dir, digits_teacher_ckpt, 3)
    resume_cfg.merge_from_dict(dict(resume=True, load_from=ckpt_path))
    resumed = Runner.from_cfg(resume_cfg)
    resumed.train()
    assert resumed.epoch == 3
    assert resumed.iter == 3 * runner.iter // 2
    final = torch.load(osp.join(work_dir, 'epoch_3.pth'))['state_dict']
    changed = [
        k for k in final if k.startswith('architecture.')
        and not torch.equal(final[k], ckpt['state_dict'][k])
    ]
    assert changed, 'the resumed run did not train the student'


@pytest.fixture
def fake_cifar_root(tmp_path):
    return write_fake_cifar100(str(tmp_path / 'cifar100'), num_train=32,
                               num_test=16)


def test_kd_cifar100_config_steps_on_fake_cifar100(tmp_path, fake_cifar_root):
    cfg = Config.fromfile(config_path('kd/kd_resnet32x4_resnet8x4_cifar100.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = fake_cifar_root
    cfg.model.teacher_ckpt = None
    shrink(cfg, str(tmp_path / 'kd_cifar'), num_train=8, num_val=8,
           batch_size=4)
    with cifar_md5_check_disabled():
        runner = Runner.from_cfg(cfg)
        runner.train()
    assert runner.iter == 2
    assert osp.isfile(osp.join(str(tmp_path / 'kd_cifar'), 'epoch_1.pth'))
    loss = runner.message_hub.log_scalars['train/loss'].current()
    assert torch.isfinite(torch.tensor(loss))
