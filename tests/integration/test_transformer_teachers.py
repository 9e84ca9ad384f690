"""Vision transformers as slimmable teachers of PWKD runs (digits, 32x32).

A small ViT, DeiT, DeiT III and Swin train as slimmable teachers with a real
Runner (every width in every step, every width validated); each teaches a
CNN student (ResNet8, KD on logits) through every PWKD stage, and the ViT
teaches a small DeiT student through its distillation token. A feature
loss between the transformer's tokens and the CNN's feature maps with no
connector is refused when the config is read, naming both modules and
their shapes.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from pwkd_plugin.checkpoints import read_slimmable_teacher
from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.config_blocks.block_checks import check_feature_losses
from pwkd_plugin.testing.transformer_families import small_transformer

from ..conftest import config_path, shrink
from .test_teacher_families import assert_every_stage

SIZE = 32
WIDTHS = (0.25, 0.5, 0.75, 1.0)
#: the module whose output is the teacher's logits.
LOGITS = {
    'ViT': 'head.layers.head',
    'DeiT': 'head',
    'DeiT3': 'head.layers.head',
    'Swin': 'head.fc'
}
#: a module whose output is the teacher's tokens, and their shape.
TOKENS = {
    'ViT': ('backbone.layers.1', (1, 65, 32)),
    'DeiT': ('backbone.layers.1', (1, 66, 32)),
    'Swin': ('backbone.stages.1', (1, 16, 64)),
}


def _digits(cfg):
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.image_size = SIZE
        cfg[loader].dataset.pipeline = [dict(type='PackInputs')]


def teacher_cfg(name, work_dir):
    cfg = Config.fromfile(config_path('demo/resnet20_digits.py'))
    cfg.model = small_transformer(name)
    _digits(cfg)
    cfg.optim_wrapper = dict(
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
    cfg.slimmable = dict(widths=WIDTHS, input_shape=(3, SIZE, SIZE))
    cfg = prepare_train_config(cfg)
    return shrink(
        cfg, work_dir, num_train=16, num_val=8, max_epochs=1, batch_size=8)


def pwkd_cfg(teacher, teacher_ckpt, work_dir, student=None,
             student_logits='head.fc'):
    """The digits PWKD+KD config with a transformer teacher: one epoch per
    stage; the student ResNet8 unless given."""
    cfg = Config.fromfile(
        config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'))
    cfg.model.teacher = dict(small_transformer(teacher), _scope_='mmpretrain')
    if student is not None:
        cfg.model.architecture = dict(student, _scope_='mmpretrain')
    recorders = cfg.model.distiller
    recorders.teacher_recorders.fc.source = LOGITS[teacher]
    recorders.student_recorders.fc.source = student_logits
    cfg.pwkd.teacher_ckpt = teacher_ckpt
    _digits(cfg)
    shrink(cfg, work_dir, num_train=16, num_val=8,
           max_epochs=len(WIDTHS), batch_size=8)
    return cfg


@pytest.fixture(scope='module')
def trained_teacher(tmp_path_factory):
    """``trained_teacher(name)``: (checkpoint, runner) of one epoch of the
    slimmable teacher ``name``, trained once per module."""
    trained = {}

    def get(name):
        if name not in trained:
            work_dir = str(tmp_path_factory.mktemp(name))
            torch.manual_seed(0)
            runner = Runner.from_cfg(teacher_cfg(name, work_dir))
            runner.train()
            trained[name] = osp.join(work_dir, 'epoch_1.pth'), runner
        return trained[name]

    return get


@pytest.mark.parametrize('name', list(LOGITS))
def test_transformer_teacher_trains_and_teaches_a_cnn(trained_teacher, name,
                                                      tmp_path):
    ckpt, runner = trained_teacher(name)
    assert runner.model.mutator.whole_layers == []
    scalars = runner.message_hub.log_scalars
    for width in WIDTHS:
        tag = f'width_{width:g}'
        assert np.isfinite(scalars[f'train/{tag}.loss'].current()), tag
        assert 0 <= scalars[f'val/{tag}/accuracy/top1'].current() <= 100
    assert read_slimmable_teacher(ckpt)['mutator']['widths'] == list(WIDTHS)

    kd = Runner.from_cfg(
        prepare_train_config(pwkd_cfg(name, ckpt, str(tmp_path / 'kd'))))
    kd.train()
    assert_every_stage(kd)


def test_deit_student_distils_through_its_distillation_token(
        trained_teacher, tmp_path):
    ckpt, _ = trained_teacher('ViT')
    cfg = pwkd_cfg('ViT', ckpt, str(tmp_path / 'deit'),
                   student=small_transformer('DeiT'),
                   student_logits='head.layers.head_dist')
    kd = Runner.from_cfg(prepare_train_config(cfg))
    kd.train()
    assert_every_stage(kd)


def _feature_loss(cfg, teacher_source, connector=None):
    distiller = cfg.model.distiller
    distiller.student_recorders.feat = dict(
        type='ModuleOutputs', source='backbone.layer3')
    distiller.teacher_recorders.feat = dict(
        type='ModuleOutputs', source=teacher_source)
    distiller.distill_losses.loss_feat = dict(type='MSELoss')
    mapping = dict(
        s_feature=dict(from_student=True, recorder='feat'),
        t_feature=dict(from_student=False, recorder='feat'))
    if connector:
        mapping['s_feature']['connector'] = connector
    distiller.loss_forward_mappings.loss_feat = mapping


@pytest.mark.parametrize('name', list(TOKENS))
def test_token_features_against_feature_maps_are_refused(trained_teacher,
                                                         name, tmp_path):
    ckpt, _ = trained_teacher(name)
    source, shape = TOKENS[name]
    cfg = pwkd_cfg(name, ckpt, str(tmp_path / 'fitnet'))
    _feature_loss(cfg, source)
    with pytest.raises(ValueError) as info:
        prepare_train_config(cfg)
    message = str(info.value)
    assert "student's 'backbone.layer3'" in message
    assert 'feature map (N, C, H, W) of shape (1, 64, 8, 8)' in message
    assert f"teacher's '{source}'" in message
    assert f'tokens (N, L, C) of shape {shape}' in message
    assert 'connector' in message
    # A connector that maps them is the user's to give: not refused.
    _feature_loss(cfg, source, connector='tokens_to_map')
    check_feature_losses(cfg.model)
