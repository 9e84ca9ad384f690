"""Every CIFAR-100 PWKD config trains through all stages on fake CIFAR-100."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.testing import (cifar_md5_check_disabled,
                                 save_untrained_slimmable_teacher,
                                 write_fake_cifar100)

from ..conftest import config_path, shrink

#: The pipeline's config under its short name; it only inherits
#: pwkd_kd_resnet32x4_resnet8x4_cifar100.py, which trains below.
SHORT_NAME = config_path('pwkd/resnet_cifar100.py')
CONFIGS = sorted(
    set(glob.glob(config_path('pwkd/*cifar100*.py'))) - {SHORT_NAME})


@pytest.fixture(scope='module')
def fake_cifar100(tmp_path_factory):
    return write_fake_cifar100(
        str(tmp_path_factory.mktemp('cifar100')), num_train=4, num_test=4)


def teacher_config_of(cfg):
    """configs/pwkd/teachers/slimmable_<teacher>_cifar100.py of a config."""
    name = re.search(r'(slimmable_[\w-]+_cifar100)', cfg.pwkd.teacher_ckpt)
    return config_path(f'pwkd/teachers/{name.group(1)}.py')


def test_every_benchmark_pair_has_a_config():
    names = {osp.basename(c) for c in CONFIGS}
    assert 'pwkd_dkd_resnet32x4_resnet8x4_cifar100.py' in names
    for pair in ('resnet32x4_resnet8x4', 'resnet56_resnet20',
                 'resnet110_resnet32', 'wrn-40-2_wrn-16-2',
                 'wrn-40-2_wrn-40-1', 'vgg13_vgg8'):
        assert f'pwkd_kd_{pair}_cifar100.py' in names


def test_the_short_name_is_the_resnet32x4_resnet8x4_config():
    short = Config.fromfile(SHORT_NAME).to_dict()
    named = Config.fromfile(
        config_path('pwkd/pwkd_kd_resnet32x4_resnet8x4_cifar100.py')).to_dict()
    short.pop('filename', None)
    named.pop('filename', None)
    assert short == named


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_config_trains_every_stage(tmp_path, fake_cifar100, config):
    cfg = Config.fromfile(config)
    teacher_ckpt = save_untrained_slimmable_teacher(
        teacher_config_of(cfg), str(tmp_path / 'teacher.pth'))
    cfg.pwkd.teacher_ckpt = teacher_ckpt
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = fake_cifar100
    # Four epochs of one iteration: one per stage.
    shrink(cfg, str(tmp_path / 'run'), num_train=2, num_val=2,
           max_epochs=4, batch_size=2)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=4)
    cfg = prepare_train_config(cfg)
    with cifar_md5_check_disabled():
        runner = Runner.from_cfg(cfg)
        runner.train()
    assert runner.model.teacher_mutator.current_width == 1.0
    scalars = runner.message_hub.log_scalars
    assert scalars['train/pwkd/stage'].current() == 4
    assert 'val/accuracy/top1' in scalars
    assert 'val/teacher.accuracy/top1' in scalars
    distill_losses = [k for k in scalars if k.startswith('train/distill.')]
    assert distill_losses
    assert osp.isfile(str(tmp_path / 'run' / 'epoch_4.pth'))
