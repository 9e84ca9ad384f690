"""The ``fast_teacher`` block puts any single-teacher config's teacher
forward on the fast copy; bad values are refused when the config is read."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from pwkd_plugin.config_blocks import FAST_TEACHER_DEFAULTS, prepare_train_config

from ..conftest import config_path, shrink

KD_DIGITS = config_path('demo/kd_resnet20_resnet8_digits.py')


def kd_cfg(teacher_ckpt, **block):
    cfg = Config.fromfile(KD_DIGITS)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.fast_teacher = block
    return cfg


def test_block_wraps_the_config_model(digits_teacher_ckpt):
    before = Config.fromfile(KD_DIGITS).model
    cfg = prepare_train_config(kd_cfg(digits_teacher_ckpt))
    assert 'fast_teacher' not in cfg
    assert cfg.model.type == 'FastTeacherDistill'
    assert cfg.model.base_type == 'SingleTeacherDistill'
    assert cfg.model.teacher_precision == 'auto'
    assert (cfg.model.fold_bn, cfg.model.channels_last) == (True, True)
    assert cfg.model.distiller == before.distiller
    assert cfg.model.teacher == before.teacher
    assert set(FAST_TEACHER_DEFAULTS) == {
        'precision', 'fold_bn', 'channels_last', 'compile'
    }


@pytest.mark.parametrize('block, message', [
    (dict(precision='half'), r"fast_teacher.precision must be one of"),
    (dict(fold_bn=1), r'fast_teacher.fold_bn must be True or False'),
    (dict(compile='yes'), r'fast_teacher.compile must be a dict'),
    (dict(dtype='bf16'), r"fast_teacher: unknown key\(s\) \['dtype'\]"),
])
def test_bad_values_are_refused(digits_teacher_ckpt, block, message):
    with pytest.raises(ValueError, match=message):
        prepare_train_config(kd_cfg(digits_teacher_ckpt, **block))


def test_a_trainable_teacher_or_a_plain_classifier_is_refused(
        digits_teacher_ckpt):
    cfg = kd_cfg(digits_teacher_ckpt)
    cfg.model.teacher_trainable = True
    with pytest.raises(ValueError, match='teacher_trainable=False'):
        prepare_train_config(cfg)
    cfg = Config.fromfile(config_path('demo/resnet8_digits.py'))
    cfg.fast_teacher = dict()
    with pytest.raises(ValueError, match='plugs into SingleTeacherDistill'):
        prepare_train_config(cfg)


def test_a_kd_run_trains_with_the_fast_teacher(digits_teacher_ckpt,
                                                tmp_path):
    cfg = prepare_train_config(
        shrink(kd_cfg(digits_teacher_ckpt), str(tmp_path)))
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model
    fast = model.active_teacher()
    assert fast is not model.teacher
    assert not any(isinstance(m, torch.nn.BatchNorm2d)
                   for m in fast.modules())
    # Checkpoints hold the teacher as it is, batch norms included.
    state = torch.load(osp.join(str(tmp_path), 'epoch_1.pth'),
                       map_location='cpu', weights_only=False)['state_dict']
    assert 'teacher.backbone.bn1.running_mean' in state
