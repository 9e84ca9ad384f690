"""Bad files and misspelt blocks are refused when the config is read, each
with a message naming the key or the file and what it should be."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from pwkd_plugin.config_blocks import (TRAIN_BLOCK_EXPANDERS,
                                       prepare_train_config)
from pwkd_plugin.config_blocks.plugin_blocks import (
    refuse_misspelt_blocks, refuse_untrained_distill_losses)

from ..conftest import REPO_ROOT, config_path

PWKD_DIGITS = config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py')
SLIMMABLE_DIGITS = config_path('pwkd/teachers/slimmable_resnet20_digits.py')


def unbuildable(cfg):
    """No data set can be built: a refusal shows nothing was built."""
    cfg.train_dataloader.dataset.type = 'NoSuchDataset'
    return cfg


def broken_copies(tmp_path, source):
    """An empty file and the first half of a real checkpoint."""
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with open(source, 'rb') as f:
        data = f.read()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(data[:len(data) // 2])
    return str(empty), str(truncated)


def test_empty_or_truncated_teacher_checkpoint(tmp_path,
                                               digits_slimmable_teacher_ckpt):
    empty, truncated = broken_copies(tmp_path, digits_slimmable_teacher_ckpt)
    for path, rule in ((empty, 'is empty (0 bytes)'),
                       (truncated, 'is truncated')):
        cfg = unbuildable(Config.fromfile(PWKD_DIGITS))
        cfg.pwkd.teacher_ckpt = path
        with pytest.raises(ValueError,
                           match=re.escape(f'pwkd.teacher_ckpt {path} {rule}')):
            prepare_train_config(cfg)


def test_empty_or_truncated_init_from(tmp_path, digits_teacher_ckpt):
    empty, truncated = broken_copies(tmp_path, digits_teacher_ckpt)
    for path, rule in ((empty, 'is empty (0 bytes)'),
                       (truncated, 'is truncated')):
        cfg = unbuildable(Config.fromfile(SLIMMABLE_DIGITS))
        cfg.slimmable.init_from = path
        with pytest.raises(ValueError,
                           match=re.escape(f'slimmable.init_from {path} '
                                           f'{rule}')):
            prepare_train_config(cfg)


def test_input_shape_with_the_wrong_channel_count():
    cfg = unbuildable(Config.fromfile(SLIMMABLE_DIGITS))
    cfg.slimmable.input_shape = [1, 16, 16]
    with pytest.raises(ValueError) as error:
        prepare_train_config(cfg)
    message = str(error.value)
    assert message.startswith('slimmable.input_shape [1, 16, 16] has 1 '
                              'channel(s), but the model takes 3')
    assert "data preprocessor's mean has 3 values" in message
    assert message.endswith('give slimmable.input_shape=(3, 16, 16)')
    assert len(message) < 300


def test_input_channels_from_the_first_convolution():
    """Without a preprocessor's mean, the model (built on the meta device)
    tells its channels."""
    def without_mean(channels):
        cfg = unbuildable(Config.fromfile(SLIMMABLE_DIGITS))
        cfg.pop('data_preprocessor', None)
        cfg.model.pop('data_preprocessor', None)
        cfg.slimmable.input_shape = [channels, 16, 16]
        return cfg

    with pytest.raises(ValueError,
                       match=re.escape('its first convolution backbone.conv1 '
                                       'has in_channels=3')):
        prepare_train_config(without_mean(2))
    cfg = prepare_train_config(without_mean(3))
    assert tuple(cfg.model.mutator.parse_cfg.demo_input) == (1, 3, 16, 16)


def test_training_shorter_than_the_stages(digits_slimmable_teacher_ckpt):
    cfg = unbuildable(Config.fromfile(PWKD_DIGITS))
    cfg.pwkd.teacher_ckpt = digits_slimmable_teacher_ckpt
    cfg.train_cfg.max_epochs = 1
    with pytest.raises(ValueError) as error:
        prepare_train_config(cfg)
    message = str(error.value)
    assert message.startswith('train_cfg.max_epochs=1 is too short for the 4 '
                              'stages of pwkd.widths [0.25, 0.5, 0.75, 1.0]')
    assert 'pwkd.stage_lengths' in message and 'at least 4 epochs' in message


@pytest.mark.parametrize('source, wrong, right', [
    (SLIMMABLE_DIGITS, 'slimable', 'slimmable'),
    (SLIMMABLE_DIGITS, 'Slimmabel', 'slimmable'),
    (PWKD_DIGITS, 'pwdk', 'pwkd'),
    (PWKD_DIGITS, 'pkwd', 'pwkd'),
])
def test_a_misspelt_block_is_refused_with_the_likely_name(
        source, wrong, right):
    cfg = unbuildable(Config.fromfile(source))
    cfg[wrong] = cfg.pop(right)
    with pytest.raises(ValueError,
                       match=re.escape(f'top-level `{wrong}` block, which no '
                                       f'part of the run reads: did you mean '
                                       f'`{right}`?')):
        prepare_train_config(cfg)


def test_no_shipped_config_looks_misspelt():
    paths = [
        p for p in glob.glob(
            osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
        if '_base_' not in p
    ]
    assert len(paths) > 30
    for path in paths:
        cfg = Config.fromfile(path)
        refuse_misspelt_blocks(cfg, TRAIN_BLOCK_EXPANDERS)
        refuse_untrained_distill_losses(cfg)


@pytest.mark.parametrize('with_pwkd', [False, True])
def test_a_distill_loss_mmengine_would_not_train_is_refused(
        with_pwkd, digits_slimmable_teacher_ckpt):
    cfg = unbuildable(
        Config.fromfile(config_path('demo/fitnet_resnet20_resnet8_digits.py')))
    distiller = cfg.model.distiller
    distiller.distill_losses['hint'] = distiller.distill_losses.pop(
        'loss_hint')
    distiller.loss_forward_mappings['hint'] = (
        distiller.loss_forward_mappings.pop('loss_hint'))
    if with_pwkd:
        cfg.pwkd = dict(teacher_ckpt=digits_slimmable_teacher_ckpt)
    with pytest.raises(ValueError, match=re.escape(
            "has `hint`, a name without 'loss'")) as error:
        prepare_train_config(cfg)
    assert 'Rename it to `loss_hint`' in str(error.value)
