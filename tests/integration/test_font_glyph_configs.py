"""The font glyph benchmarks' configs (36 classes and the 47 balanced
ones) train, alone and with a ``pwkd`` block, on two typeface families (one
per split)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.datasets.font_glyphs import APT_COMMAND
from pwkd_plugin.testing import save_untrained_slimmable_teacher

from ..conftest import config_path, shrink

#: DejaVu is of the training split, CMU of the test split.
FONT_DIRS = [
    '/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/truetype/cmu'
]
TEACHER = config_path('pwkd/teachers/slimmable_resnet20_font_glyphs.py')
BALANCED_TEACHER = config_path(
    'pwkd/teachers/slimmable_resnet20_font_glyphs_balanced.py')
LARGE_TEACHER = config_path(
    'pwkd/teachers/slimmable_resnet32x4_font_glyphs_balanced.py')
DEEP_TEACHER = config_path(
    'pwkd/teachers/slimmable_resnet56_font_glyphs_balanced.py')
STUDENTS = sorted(glob.glob(config_path('fonts/*resnet8_half_*.py')))


@pytest.fixture(scope='module')
def fonts(tmp_path_factory):
    if not all(osp.isdir(d) for d in FONT_DIRS):
        pytest.skip(f'{FONT_DIRS} missing: install the typefaces of the '
                    f'benchmark with: {APT_COMMAND}')
    return dict(font_dirs=FONT_DIRS,
                cache_dir=str(tmp_path_factory.mktemp('glyph_cache')))


@pytest.fixture(scope='module')
def teacher_ckpts(tmp_path_factory):
    """The slimmable teacher checkpoint of each task, by teacher config."""
    folder = tmp_path_factory.mktemp('teachers')
    return {
        config: save_untrained_slimmable_teacher(
            config, str(folder / osp.basename(config).replace('.py', '.pth')))
        for config in (TEACHER, BALANCED_TEACHER, LARGE_TEACHER,
                       DEEP_TEACHER)
    }


def is_balanced(config):
    return config.endswith('_balanced.py')


def teacher_of(config):
    """The slimmable teacher config whose checkpoint a student config's
    ``pwkd`` block takes."""
    if 'resnet56' in osp.basename(config):
        return DEEP_TEACHER
    return BALANCED_TEACHER if is_balanced(config) else TEACHER


def run(cfg, fonts, work_dir):
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.update(fonts)
    # Four epochs of one iteration: one per PWKD stage.
    shrink(cfg, work_dir, num_train=4, num_val=4, max_epochs=4, batch_size=4)
    runner = Runner.from_cfg(prepare_train_config(cfg))
    runner.train()
    return runner


@pytest.mark.parametrize('student, teacher', [
    ('fonts/resnet8_half_font_glyphs.py', TEACHER),
    ('fonts/resnet8_half_font_glyphs_balanced.py', BALANCED_TEACHER),
], ids=['36_classes', 'balanced'])
def test_the_student_is_smaller_and_sees_fewer_fonts(student, teacher):
    student = Config.fromfile(config_path(student))
    teacher = Config.fromfile(teacher)
    assert student.model.backbone.width_ratio == 0.5
    assert student.train_dataloader.dataset.font_step == 8
    assert teacher.train_dataloader.dataset.get('font_step', 1) == 1
    assert teacher.slimmable.input_shape == (3, 16, 16)


@pytest.mark.parametrize('with_pwkd', [False, True], ids=['alone', 'pwkd'])
@pytest.mark.parametrize('config', STUDENTS, ids=osp.basename)
def test_config_trains(tmp_path, fonts, teacher_ckpts, config, with_pwkd):
    cfg = Config.fromfile(config)
    classes = 47 if is_balanced(config) else 36
    distills = cfg.model.type == 'SingleTeacherDistill'
    if with_pwkd and not distills:
        pytest.skip('the student alone has no teacher')
    if distills:
        cfg.model.teacher_ckpt = None
    if with_pwkd:
        cfg.pwkd = dict(teacher_ckpt=teacher_ckpts[teacher_of(config)])
    runner = run(cfg, fonts, str(tmp_path / 'run'))
    assert len(runner.train_dataloader.dataset.CLASSES) == classes
    student = runner.model.student if distills else runner.model
    assert student.head.fc.out_features == classes
    scalars = runner.message_hub.log_scalars
    assert 'val/accuracy/top1' in scalars
    if distills:
        assert any(k.startswith('train/distill.') for k in scalars)
    if with_pwkd:
        assert scalars['train/pwkd/stage'].current() == 4
        assert runner.model.teacher_mutator.current_width == 1.0


@pytest.mark.parametrize('teacher', [TEACHER, BALANCED_TEACHER],
                         ids=['36_classes', 'balanced'])
def test_the_shipped_pwkd_config_trains(tmp_path, fonts, teacher_ckpts,
                                        teacher):
    name = osp.basename(teacher).replace('slimmable_resnet20_', '')
    cfg = Config.fromfile(
        config_path(f'pwkd/pwkd_kd_resnet20_resnet8_half_{name}'))
    cfg.pwkd.teacher_ckpt = teacher_ckpts[teacher]
    runner = run(cfg, fonts, str(tmp_path / 'run'))
    assert runner.message_hub.log_scalars['train/pwkd/stage'].current() == 4


def test_the_capacity_gap_pair_distils_through_every_stage(
        tmp_path, fonts, teacher_ckpts):
    """ResNet32x4 -> ResNet8x4 (the paper's headline pair) on the glyphs."""
    cfg = Config.fromfile(
        config_path('fonts/kd_resnet32x4_resnet8x4_font_glyphs_balanced.py'))
    cfg.model.teacher_ckpt = None
    cfg.pwkd = dict(teacher_ckpt=teacher_ckpts[LARGE_TEACHER])
    runner = run(cfg, fonts, str(tmp_path / 'run'))
    assert runner.message_hub.log_scalars['train/pwkd/stage'].current() == 4
    student = runner.model.student
    assert student.backbone.arch == 'resnet8x4'
    assert student.head.fc.in_features == 256
    assert student.head.fc.out_features == 47
    teacher = Config.fromfile(LARGE_TEACHER)
    assert teacher.model.backbone.arch == 'resnet32x4'
    assert teacher.train_dataloader.dataset.get('font_step', 1) == 1
