"""tools/train.py refuses before it makes or touches the work dir."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from ..conftest import REPO_ROOT, config_path
from ..script_runs import run_script

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')


def train(*args):
    return run_script(TRAIN, *args, cwd=REPO_ROOT)


def test_a_checkpoint_without_last_checkpoint_is_not_trained_over(
        tmp_path, digits_teacher_ckpt):
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    kept = str(work_dir / 'epoch_5.pth')
    shutil.copyfile(digits_teacher_ckpt, kept)
    with open(kept, 'rb') as f:
        before = f.read()
    fresh = train(config_path('demo/resnet20_digits.py'), '--work-dir',
                  str(work_dir))
    assert fresh.returncode != 0
    assert 'already holds checkpoints (epoch_5.pth)' in fresh.stderr
    resumed_alone = train(config_path('demo/resnet20_digits.py'),
                          '--work-dir', str(work_dir), '--resume')
    assert resumed_alone.returncode != 0
    assert f'--resume {kept}' in resumed_alone.stderr
    with open(kept, 'rb') as f:
        assert f.read() == before
    assert sorted(os.listdir(work_dir)) == ['epoch_5.pth']  # no log dir


def test_an_empty_teacher_checkpoint_is_named_before_the_work_dir(tmp_path):
    empty = tmp_path / 'teacher.pth'
    empty.write_bytes(b'')
    work_dir = str(tmp_path / 'run')
    result = train(config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'),
                   '--work-dir', work_dir, '--cfg-options',
                   f'pwkd.teacher_ckpt={empty}')
    assert result.returncode != 0
    assert (f'pwkd.teacher_ckpt {empty} is empty (0 bytes)'
            in result.stderr.splitlines()[-1])
    assert not osp.exists(work_dir)


@pytest.mark.parametrize('option, named', [
    ('model.teacher.head.num_classes=100',
     "model.teacher.head.num_classes is 100, the checkpoint's teacher has 10"),
    ('model.teacher.backbone.arch=resnet56',
     "model.teacher.backbone.arch is 'resnet56', the checkpoint's teacher "
     "has 'resnet20'"),
])
def test_a_teacher_that_does_not_fit_is_named_before_the_work_dir(
        tmp_path, digits_slimmable_teacher_ckpt, option, named):
    work_dir = str(tmp_path / 'run')
    result = train(config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'),
                   '--work-dir', work_dir, '--cfg-options',
                   f'pwkd.teacher_ckpt={digits_slimmable_teacher_ckpt}',
                   option)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert 'TeacherMismatchError: model.teacher does not fit' in last
    assert named in last
    assert not osp.exists(work_dir)


def test_sync_bn_without_cuda_is_refused_before_the_runner(tmp_path):
    work_dir = tmp_path / 'run'
    result = subprocess.run(
        [sys.executable, TRAIN, config_path('demo/resnet8_digits.py'),
         '--work-dir', str(work_dir), '--launcher', 'pytorch',
         '--cfg-options', 'sync_bn=torch'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES=''))
    assert result.returncode != 0
    assert "ValueError: sync_bn='torch' needs CUDA and none is available" \
        in result.stderr
    assert not work_dir.exists()  # no Runner was made
