"""The epoch length the schedule is drawn at is the training loader's."""
import math
import os

from mmengine.config import Config

from pwkd_plugin.apis.schedule_trace import train_epoch_length
from pwkd_plugin.testing import cifar_md5_check_disabled, write_fake_cifar100

from ..conftest import config_path


def test_the_digits_loader_length():
    cfg = Config.fromfile(config_path('demo/kd_resnet20_resnet8_digits.py'))
    assert train_epoch_length(cfg) == math.ceil(1437 / 32)


def test_cifar100_counted_where_it_is_never_downloaded(tmp_path):
    cfg = Config.fromfile(config_path('pwkd/resnet_cifar100.py'))
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'absent')
    assert train_epoch_length(cfg) is None
    assert not os.path.exists(tmp_path / 'absent')  # nothing downloaded
    cfg.train_dataloader.dataset.data_root = write_fake_cifar100(
        str(tmp_path / 'fake'), num_train=200)
    with cifar_md5_check_disabled():  # fake files, the real format
        assert train_epoch_length(cfg) == math.ceil(200 / 64)
