"""export_width / extract_student given the wrong kind of checkpoint say so
in a few lines, not with every key of its state dict."""
import os.path as osp

import pytest
import torch

from pwkd_plugin.checkpoints import describe_mismatch

from ..conftest import REPO_ROOT, config_path
from ..script_runs import run_script


def tool(name, *args):
    return run_script(osp.join(REPO_ROOT, 'tools', name), *args,
                      cwd=REPO_ROOT)


def last_line(result):
    return result.stderr.strip().splitlines()[-1]


def test_extract_student_of_a_slimmable_teacher_checkpoint(
        tmp_path, digits_slimmable_teacher_ckpt):
    result = tool('extract_student.py',
                  config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'),
                  digits_slimmable_teacher_ckpt, '--out-dir',
                  str(tmp_path / 'out'), '--cfg-options',
                  f'pwkd.teacher_ckpt={digits_slimmable_teacher_ckpt}')
    assert result.returncode != 0
    line = last_line(result)
    assert line.startswith(f'error: checkpoint {digits_slimmable_teacher_ckpt}'
                           " is not a checkpoint of this config's "
                           'distillation run')
    assert line.endswith('a slimmable teacher checkpoint')
    assert len(result.stderr) < 3000
    assert not osp.exists(tmp_path / 'out' / 'student.pth')


def test_export_width_of_a_distillation_checkpoint(tmp_path):
    # A checkpoint holding a student and a teacher, as PWKD runs write.
    ckpt = str(tmp_path / 'student.pth')
    torch.save(
        dict(state_dict={
            'architecture.backbone.conv1.weight': torch.zeros(1),
            'teacher.backbone.conv1.weight': torch.zeros(1)
        }), ckpt)
    result = tool('export_width.py',
                  config_path('pwkd/teachers/slimmable_resnet20_digits.py'),
                  ckpt, '--width', '0.5', '--out-dir', str(tmp_path / 'out'))
    assert result.returncode != 0
    line = last_line(result)
    assert line.startswith(f'export_width: error: checkpoint {ckpt} is not a '
                           'slimmable teacher checkpoint of this config')
    assert "a distillation run's checkpoint" in line
    assert len(result.stderr) < 3000


@pytest.mark.parametrize('message', [
    # torch's nn.Module.load_state_dict
    'Error(s) in loading state_dict for ImageClassifier:\n\tMissing key(s) '
    'in state_dict: "a.w", "b.w", "c.w", "d.w". \n\tUnexpected key(s) in '
    'state_dict: "teacher.a.w". ',
    # mmengine's load_state_dict
    'The model and loaded state dict do not match exactly\n\nunexpected key '
    'in source state_dict: teacher.a.w\n\nmissing keys in source '
    'state_dict: a.w, b.w, c.w, d.w\n',
])
def test_the_mismatch_in_one_paragraph(message):
    text = describe_mismatch(message, 'x.pth', 'what the tool needs')
    assert text == (
        'checkpoint x.pth is not what the tool needs: it has 1 weights the '
        'model does not have (e.g. teacher.a.w) and lacks 4 it needs (e.g. '
        "a.w, b.w, c.w); it holds teacher.* weights: a distillation run's "
        'checkpoint')
