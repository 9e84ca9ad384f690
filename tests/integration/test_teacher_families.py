"""Grouped, concatenated and shuffled CNN families as partial teachers.

Each family (a small member, 32x32 digits) trains as a slimmable teacher
with a real Runner at every width, validates every width, is read back as a
slimmable teacher checkpoint, rebuilt as a PWKD teacher and distilled
from by a PWKD+KD run through every stage; at width 0.25 its
static copy keeps at most 0.25 of the whole's FLOPs and 0.35 of its
parameters, and every width's static copy computes what the slimmable
network computes.
Width 0.25 is exported as an ordinary mmpretrain config where a width
recipe can express it, and refused naming the reason elsewhere.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from pwkd_plugin.checkpoints import read_slimmable_teacher
from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.export import WidthExportError, export_width
from pwkd_plugin.models.algorithms.partial_teacher import (
    WIDTH_MUTATOR, static_teacher_at_width)
from pwkd_plugin.models.utils.conv_linear_macs import conv_linear_macs
from pwkd_plugin.testing.teacher_families import SMALL_FAMILIES, small_family

from ..conftest import config_path, shrink

SIZE = 32
WIDTHS = (0.25, 0.5, 0.75, 1.0)


def family_cfg(name, work_dir):
    cfg = Config.fromfile(config_path('demo/resnet20_digits.py'))
    cfg.model = small_family(name)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.image_size = SIZE
        cfg[loader].dataset.pipeline = [dict(type='PackInputs')]
    cfg.slimmable = dict(widths=WIDTHS, input_shape=(3, SIZE, SIZE))
    cfg = prepare_train_config(cfg)
    return shrink(
        cfg, work_dir, num_train=16, num_val=8, max_epochs=1, batch_size=8)


#: the module whose output is a family's logits, where it is not head.fc.
LOGITS = {'LeViT': 'head.head'}


def pwkd_kd_cfg(name, teacher_ckpt, work_dir):
    """The digits PWKD+KD config (ResNet8 student) with the family's
    slimmable teacher: one epoch per stage."""
    cfg = Config.fromfile(
        config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'))
    cfg.model.teacher = dict(small_family(name), _scope_='mmpretrain')
    cfg.model.distiller.teacher_recorders.fc.source = LOGITS.get(
        name, 'head.fc')
    cfg.pwkd.teacher_ckpt = teacher_ckpt
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.image_size = SIZE
        cfg[loader].dataset.pipeline = [dict(type='PackInputs')]
    shrink(cfg, work_dir, num_train=16, num_val=8,
           max_epochs=len(WIDTHS), batch_size=8)
    return prepare_train_config(cfg)


def cost(model, inputs):
    macs = conv_linear_macs(model, lambda: model(inputs, mode='tensor'),
                            len(inputs))
    return macs, sum(p.numel() for p in model.parameters())


def assert_every_stage(runner):
    """A PWKD run went through a stage per width, narrowest first, each
    iteration with a finite loss."""
    scalars = runner.message_hub.log_scalars
    widths = scalars['train/pwkd/teacher_width'].data[0]
    assert sorted(set(widths.tolist())) == list(WIDTHS)
    assert list(widths) == sorted(widths)
    losses = scalars['train/loss'].data[0]
    assert len(losses) == len(widths) and np.isfinite(losses).all()


#: families whose width 0.25 an ordinary mmpretrain config expresses.
EXPORTABLE = ('ResNeXt', 'DenseNet', 'ConvNeXt', 'ConvNeXt-V2', 'VAN',
              'HorNet', 'XCiT', 'MViT', 'T2T-ViT', 'BEiT', 'MLP-Mixer',
              'Res2Net', 'RevViT', 'HiViT', 'EVA02')


@pytest.mark.parametrize('name', list(SMALL_FAMILIES))
def test_family_is_a_partial_teacher(name, tmp_path):
    if 'timm' in name:
        pytest.importorskip('timm')
    torch.manual_seed(0)
    cfg = family_cfg(name, str(tmp_path / name))
    runner = Runner.from_cfg(cfg)
    model = runner.model
    assert model.mutator.whole_layers == []
    runner.train()

    scalars = runner.message_hub.log_scalars
    for width in WIDTHS:
        tag = f'width_{width:g}'
        assert torch.isfinite(
            torch.tensor(scalars[f'train/{tag}.loss'].current())), tag
        assert 0 <= scalars[f'val/{tag}/accuracy/top1'].current() <= 100

    # The static copy of width 0.25 is genuinely partial.
    inputs = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator()
                        .manual_seed(0))
    model.eval()
    # FLOPs of one image, as the mutator counts them: XCiT's positional
    # encoding is computed once per batch.
    whole_macs, whole_params = cost(model.static_architecture(1.0),
                                    inputs[:1])
    static = model.static_architecture(0.25)
    macs, params = cost(static, inputs[:1])
    assert macs <= 0.25 * whole_macs, (macs / whole_macs)
    assert params <= 0.35 * whole_params, (params / whole_params)
    # Every width's static copy computes what the slimmable network does.
    with torch.no_grad():
        for width in reversed(WIDTHS):
            copy = static if width == 0.25 else model.static_architecture(
                width)
            model.mutator.set_width(width)
            expected = model(inputs, mode='tensor')
            assert torch.allclose(
                copy(inputs, mode='tensor'), expected, atol=1e-5), width
    # The FLOPs the mutator counted when it prepared the model agree.
    ratio = model.mutator.width_macs[0.25] / model.mutator.width_macs[1.0]
    assert abs(ratio - macs / whole_macs) < 1e-6

    # The checkpoint is a slimmable teacher, and the teacher of a PWKD+KD
    # run: a stage per width, narrowest first, each with a finite loss.
    ckpt = osp.join(str(tmp_path / name), 'epoch_1.pth')
    assert read_slimmable_teacher(ckpt)['mutator']['widths'] == list(WIDTHS)
    kd_runner = Runner.from_cfg(pwkd_kd_cfg(name, ckpt, str(tmp_path / 'kd')))
    kd_runner.train()
    assert_every_stage(kd_runner)
    # Its frozen teacher's width 0.25 computes what the trained model does.
    teacher = kd_runner.model.teacher
    getattr(teacher, WIDTH_MUTATOR).set_width(0.25)
    with torch.no_grad():
        got = static_teacher_at_width(teacher)(inputs, mode='tensor')
    assert torch.allclose(got, expected, atol=1e-5)

    # Width 0.25 as an ordinary mmpretrain config where a recipe exists
    # (export_width checks names, shapes and outputs within 1e-5 itself).
    out_dir = str(tmp_path / 'export')
    if name in EXPORTABLE:
        exported = export_width(cfg, ckpt, 0.25, out_dir)
        assert exported['params'] == params
        assert exported['flops'] > 0
        # One epoch leaves the attentions near uniform, which would hide a
        # wrong split of heads: the exported network computes what the
        # static copy does with every weight scaled by 1 + 0.5 N(0, 1).
        plain = MMPRETRAIN_MODELS.build(
            Config.fromfile(exported['config']).model)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for param in static.parameters():
                param.mul_(1 + 0.5 * torch.randn(param.shape,
                                                 generator=generator))
            plain.load_state_dict(static.state_dict(), strict=True)
            plain.eval()
            expected = static(inputs, mode='tensor')
            assert torch.allclose(plain(inputs, mode='tensor'), expected,
                                  atol=1e-5 * max(1., expected.abs().max()))
    else:
        # MobileOne has a recipe, but mmpretrain rounds the squeeze channels
        # of the small member's squeeze-excitation block up to 8.
        reason = ('does not reproduce'
                  if name == 'MobileOne' else 'no width recipe')
        with pytest.raises(WidthExportError, match=reason):
            export_width(cfg, ckpt, 0.25, out_dir)
