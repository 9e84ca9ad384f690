"""The font glyph benchmark's configs train, alone and with a ``pwkd``
block, on two typeface families (one per split)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from pwkd_plugin.apis import prepare_train_config
from pwkd_plugin.datasets.font_glyphs import APT_COMMAND
from pwkd_plugin.testing import save_untrained_slimmable_teacher

from ..conftest import config_path, shrink

#: DejaVu is of the training split, CMU of the test split.
FONT_DIRS = [
    '/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/truetype/cmu'
]
TEACHER = config_path('pwkd/teachers/slimmable_resnet20_font_glyphs.py')
STUDENTS = sorted(glob.glob(config_path('fonts/*resnet8_half_*.py')))


@pytest.fixture(scope='module')
def fonts(tmp_path_factory):
    if not all(osp.isdir(d) for d in FONT_DIRS):
        pytest.skip(f'{FONT_DIRS} missing: install the typefaces of the '
                    f'benchmark with: {APT_COMMAND}')
    return dict(font_dirs=FONT_DIRS,
                cache_dir=str(tmp_path_factory.mktemp('glyph_cache')))


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    return save_untrained_slimmable_teacher(
        TEACHER, str(tmp_path_factory.mktemp('teacher') / 'teacher.pth'))


def run(cfg, fonts, work_dir):
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.update(fonts)
    # Four epochs of one iteration: one per PWKD stage.
    shrink(cfg, work_dir, num_train=4, num_val=4, max_epochs=4, batch_size=4)
    runner = Runner.from_cfg(prepare_train_config(cfg))
    runner.train()
    return runner


def test_the_student_is_smaller_and_sees_fewer_fonts():
    student = Config.fromfile(config_path('fonts/resnet8_half_font_glyphs.py'))
    teacher = Config.fromfile(TEACHER)
    assert student.model.backbone.width_ratio == 0.5
    assert student.train_dataloader.dataset.font_step == 8
    assert teacher.train_dataloader.dataset.get('font_step', 1) == 1
    assert teacher.slimmable.input_shape == (3, 16, 16)


@pytest.mark.parametrize('with_pwkd', [False, True], ids=['alone', 'pwkd'])
@pytest.mark.parametrize('config', STUDENTS, ids=osp.basename)
def test_config_trains(tmp_path, fonts, teacher_ckpt, config, with_pwkd):
    cfg = Config.fromfile(config)
    distills = cfg.model.type == 'SingleTeacherDistill'
    if with_pwkd and not distills:
        pytest.skip('the student alone has no teacher')
    if distills:
        cfg.model.teacher_ckpt = None
    if with_pwkd:
        cfg.pwkd = dict(teacher_ckpt=teacher_ckpt)
    runner = run(cfg, fonts, str(tmp_path / 'run'))
    scalars = runner.message_hub.log_scalars
    assert 'val/accuracy/top1' in scalars
    if distills:
        assert any(k.startswith('train/distill.') for k in scalars)
    if with_pwkd:
        assert scalars['train/pwkd/stage'].current() == 4
        assert runner.model.teacher_mutator.current_width == 1.0


def test_the_shipped_pwkd_config_trains(tmp_path, fonts, teacher_ckpt):
    cfg = Config.fromfile(
        config_path('pwkd/pwkd_kd_resnet20_resnet8_half_font_glyphs.py'))
    cfg.pwkd.teacher_ckpt = teacher_ckpt
    runner = run(cfg, fonts, str(tmp_path / 'run'))
    assert runner.message_hub.log_scalars['train/pwkd/stage'].current() == 4
