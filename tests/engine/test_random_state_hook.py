"""Resumed with augmentation on, a run ends with the uninterrupted run's
weights: its epoch checkpoints hold the random generators' state."""
import logging
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.engine.hooks.random_state_hook import RANDOM_STATE_META

from ..conftest import config_path, shrink

EPOCHS = 4


def digits_cfg(work_dir, config='demo/resnet8_digits.py', teacher=None):
    """A shipped digits config as it is (RandomCrop on), a few batches,
    validated after every epoch."""
    cfg = Config.fromfile(config_path(config))
    if teacher is not None:
        cfg.pwkd.teacher_ckpt = teacher
    shrink(cfg, work_dir, num_train=24, num_val=8, max_epochs=EPOCHS,
           batch_size=8)
    cfg.train_cfg.val_interval = 1
    assert cfg.train_dataloader.dataset.pipeline[0]['type'] == 'RandomCrop'
    return prepare_train_config(cfg)


def train(cfg, resume_from=None):
    if resume_from is not None:
        cfg.resume = True
        cfg.load_from = resume_from
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def final_weights(work_dir):
    return torch.load(osp.join(work_dir, f'epoch_{EPOCHS}.pth'),
                      map_location='cpu')['state_dict']


def assert_same_weights(resumed, whole):
    assert resumed.keys() == whole.keys()
    for name, value in whole.items():
        assert torch.equal(resumed[name], value), name


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('uninterrupted'))
    train(digits_cfg(work_dir))
    return work_dir


@pytest.mark.parametrize('epoch', [1, 3])
def test_resumed_with_augmentation_ends_with_the_same_weights(
        tmp_path, uninterrupted, epoch):
    checkpoint = osp.join(uninterrupted, f'epoch_{epoch}.pth')
    assert RANDOM_STATE_META in torch.load(checkpoint)['meta']
    train(digits_cfg(str(tmp_path)), checkpoint)
    assert_same_weights(final_weights(str(tmp_path)),
                        final_weights(uninterrupted))


def test_pwkd_digits_resumed_with_augmentation_is_exact(
        tmp_path, digits_slimmable_teacher_ckpt):
    config = 'pwkd/pwkd_kd_resnet20_resnet8_digits.py'
    whole = str(tmp_path / 'whole')
    train(digits_cfg(whole, config, digits_slimmable_teacher_ckpt))
    resumed = str(tmp_path / 'resumed')
    train(digits_cfg(resumed, config, digits_slimmable_teacher_ckpt),
          osp.join(whole, 'epoch_2.pth'))
    assert_same_weights(final_weights(resumed), final_weights(whole))


class Collect(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_a_checkpoint_without_the_state_resumes_with_one_warning(
        tmp_path, uninterrupted):
    old = torch.load(osp.join(uninterrupted, 'epoch_3.pth'))
    del old['meta'][RANDOM_STATE_META]
    older = str(tmp_path / 'older.pth')
    torch.save(old, older)
    runner = Runner.from_cfg(digits_cfg(str(tmp_path / 'run')))
    collect = Collect()
    MMLogger.get_current_instance().addHandler(collect)
    runner._resume, runner._load_from = True, older
    runner.train()
    warned = [m for m in collect.messages if 'random generator state' in m]
    assert len(warned) == 1
    assert 'differ from the uninterrupted run' in warned[0]
