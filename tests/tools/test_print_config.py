"""tools/print_config.py: the config as the Runner gets it, blocks
expanded, itself a config that loads."""
import os.path as osp

from mmengine.config import Config

from ..conftest import REPO_ROOT, config_path
from ..script_runs import run_script

TOOL = osp.join(REPO_ROOT, 'tools', 'print_config.py')
PWKD = config_path('pwkd/pwkd_kd_resnet20_resnet8_half_font_glyphs_balanced.py')


def print_config(*args):
    return run_script(TOOL, *args)


def printed(tmp_path, *args):
    result = print_config(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    path = tmp_path / 'printed.py'
    path.write_text(result.stdout)
    return Config.fromfile(str(path))


def test_a_pwkd_block_is_printed_expanded(tmp_path):
    cfg = printed(tmp_path, PWKD, '--cfg-options',
                  'pwkd.stage_ratios=[1,1,1,5]')
    assert 'pwkd' not in cfg
    assert cfg.model.type == 'PWKDDistill'
    assert cfg.model.widths == [0.25, 0.5, 0.75, 1.0]
    [hook] = [h for h in cfg.custom_hooks if h.type.endswith('PWKDStageHook')]
    assert hook.stage_lengths == [2, 2, 2, 10]
    assert [s.type for s in cfg.param_scheduler] == ['mmrazor.PWKDCyclicLR']

    base = printed(tmp_path, PWKD, '--cfg-options', 'pwkd.lr_cycle=None')
    assert base.param_scheduler.type == 'CosineAnnealingLR'


def test_a_slimmable_block_is_printed_expanded(tmp_path):
    cfg = printed(tmp_path, config_path(
        'pwkd/teachers/slimmable_resnet20_font_glyphs_balanced.py'))
    assert 'slimmable' not in cfg
    assert cfg.model.type == 'SlimmableTeacher'
    assert cfg.model_wrapper_cfg.type == 'mmrazor.SlimmableTeacherDDP'


def test_unknown_teacher_widths_are_a_clear_error():
    result = print_config(PWKD, '--cfg-options', 'pwkd.widths=None')
    assert result.returncode != 0
    assert 'pwkd.widths is not given' in result.stderr
    assert 'Traceback' not in result.stderr
