"""tools/test.py of a PWKD student needs only the student's checkpoint (it
holds the teacher) and reads it once."""
import builtins
import json
import os
import os.path as osp
import shutil

from mmengine.config import Config
from mmengine.runner import Runner

from pwkd_plugin.config_blocks import prepare_train_config

from ..conftest import REPO_ROOT, config_path, shrink
from ..script_runs import run_script

PWKD_DIGITS = config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py')

def test_a_student_checkpoint_without_its_teacher_file(
        tmp_path, digits_slimmable_teacher_ckpt, monkeypatch):
    teacher = str(tmp_path / 'teacher.pth')
    shutil.copyfile(digits_slimmable_teacher_ckpt, teacher)
    cfg = Config.fromfile(PWKD_DIGITS)
    cfg.pwkd.teacher_ckpt = teacher
    shrink(cfg, str(tmp_path / 'run'), num_train=16, num_val=8, max_epochs=4,
           batch_size=8)
    Runner.from_cfg(prepare_train_config(cfg)).train()
    student = str(tmp_path / 'run' / 'epoch_4.pth')
    os.remove(teacher)  # the teacher's training path is gone

    opened, real_open = [], builtins.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, str) and osp.abspath(file) == student:
            opened.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, 'open', counting_open)
    metrics = str(tmp_path / 'metrics.json')
    result = run_script(
        osp.join(REPO_ROOT, 'tools', 'test.py'), PWKD_DIGITS, student,
        '--work-dir', str(tmp_path / 'test'), '--out', metrics,
        '--out-item', 'metrics', '--cfg-options',
        f'pwkd.teacher_ckpt={teacher}', 'test_dataloader.dataset.indices=8',
        cwd=REPO_ROOT)
    monkeypatch.undo()
    assert result.returncode == 0, result.stderr[-3000:]
    with open(metrics) as f:
        assert 0 <= json.load(f)['accuracy/top1'] <= 100
    assert len(opened) == 1

    # With a config without the pwkd block (the KD config it was made
    # from), it says what the checkpoint is and how to test it.
    kd = config_path('demo/kd_resnet20_resnet8_digits.py')
    refused = run_script(osp.join(REPO_ROOT, 'tools', 'test.py'), kd, student,
                         '--work-dir', str(tmp_path / 'kd_test'),
                         cwd=REPO_ROOT)
    assert refused.returncode != 0
    last = refused.stderr.strip().splitlines()[-1]
    assert f"{student} is a PWKD student's checkpoint" in last
    assert 'tools/extract_student.py PWKD_CONFIG' in last
    assert not osp.exists(tmp_path / 'kd_test')
