"""Fix ``plain_dict_modules``: mmrazor's in-place switch-off and
``DynamicSequential.convert_from`` on torch's plain-dict ``_modules``.

The consequence that matters is in distillation: a recorder on a batch norm
that an in-place ReLU follows must record the batch norm's output (negative
values present), not the ReLU's.
"""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample
from mmrazor.models.algorithms.base import BaseAlgorithm
from mmrazor.models.architectures.dynamic_ops import DynamicSequential
from mmrazor.registry import MODELS
from torch import nn

from pwkd_plugin.compat import fix_plain_dict_modules
from pwkd_plugin.compat.plain_dict_modules import ORIGINALS
from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.testing.slimmable_checkpoints import \
    save_untrained_slimmable_teacher

if osp.dirname(osp.abspath(__file__)) not in sys.path:  # the helpers
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _compat_helpers import REPO_ROOT  # noqa: E402


def config_path(relative):
    return osp.join(REPO_ROOT, 'configs', relative)

# mmpretrain's ResNet_CIFAR: conv1 -> bn1 -> ReLU(inplace=True) in the stem.
TEACHER = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, base_channels=16),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128))
BN_RECORDER = dict(bn=dict(type='ModuleOutputs', source='backbone.bn1'))


@pytest.fixture
def mmrazor_without_the_fix(monkeypatch):
    monkeypatch.setattr(BaseAlgorithm, 'set_module_inplace_false',
                        ORIGINALS['set_module_inplace_false'])


def kd_config():
    cfg = Config.fromfile(config_path('demo/kd_resnet20_resnet8_digits.py'))
    cfg.model.teacher = TEACHER
    cfg.model.teacher_ckpt = None
    cfg.model.distiller.teacher_recorders.update(BN_RECORDER)
    return cfg


def recorded_bn_minimum(model, width=None):
    """The least value the teacher's bn1 recorder saw in one loss step."""
    torch.manual_seed(0)
    inputs = torch.randn(4, 3, 16, 16)
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    if width is not None:
        model.teacher_mutator.set_width(width)
    model.loss(inputs, samples)
    recorded = model.distiller.teacher_recorders.get_recorder('bn')
    return recorded.data_buffer[0].min().item()


def test_distillation_records_the_batch_norm_output():
    model = MODELS.build(kd_config().model)
    assert not model.teacher.backbone.relu.inplace
    assert recorded_bn_minimum(model) < 0


def test_without_the_fix_the_in_place_relu_changes_the_record(
        mmrazor_without_the_fix):
    model = MODELS.build(kd_config().model)
    assert model.teacher.backbone.relu.inplace
    assert recorded_bn_minimum(model) >= 0


def pwkd_model(tmp_path):
    teacher_cfg = Config.fromfile(
        config_path('pwkd/teachers/slimmable_resnet20_digits.py'))
    teacher_cfg.model.backbone = TEACHER['backbone']
    teacher_cfg.model.head.in_channels = TEACHER['head']['in_channels']
    teacher_cfg_path = str(tmp_path / 'teacher.py')
    teacher_cfg.dump(teacher_cfg_path)
    ckpt = save_untrained_slimmable_teacher(teacher_cfg_path,
                                            str(tmp_path / 'teacher.pth'))
    cfg = kd_config()
    cfg.pwkd = dict(teacher_ckpt=ckpt)
    return MODELS.build(prepare_train_config(cfg).model)


@pytest.mark.parametrize('width', [0.5, 1.0])
def test_pwkd_static_teacher_records_the_batch_norm_output(tmp_path, width):
    model = pwkd_model(tmp_path)
    assert recorded_bn_minimum(model, width) < 0
    assert model.active_teacher() is not model.teacher  # the static copy


def test_without_the_fix_pwkd_records_the_changed_tensor(
        tmp_path, mmrazor_without_the_fix):
    model = pwkd_model(tmp_path)
    assert recorded_bn_minimum(model, 0.5) >= 0


def test_dynamic_sequential_converts_from_sequential():
    static = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU())
    dynamic = DynamicSequential.convert_from(static)
    assert isinstance(dynamic, DynamicSequential)
    assert list(dynamic.pure_modules()) == list(static)
    with pytest.raises(TypeError, match='dict is not a Module subclass'):
        ORIGINALS['convert_from'].__func__(DynamicSequential, static)


def test_applying_it_again_changes_nothing():
    fixed = BaseAlgorithm.set_module_inplace_false
    convert = DynamicSequential.__dict__['convert_from']
    assert fix_plain_dict_modules()
    assert BaseAlgorithm.set_module_inplace_false is fixed
    assert DynamicSequential.__dict__['convert_from'] is convert
    assert ORIGINALS['set_module_inplace_false'] is not fixed
