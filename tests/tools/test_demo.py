"""The README's main command (tools/demo.py), shortened; its refusals in
this process."""
import os.path as osp
import subprocess
import sys

from ..conftest import REPO_ROOT
from ..script_runs import run_script


def test_demo_runs_the_whole_pipeline_and_prints_the_table(tmp_path):
    work_dir = str(tmp_path / 'demo')
    result = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'demo.py'), '--work-dir', work_dir,
        '--teacher-epochs', '1', '--student-epochs', '4'
    ], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert '==> 1/2 slimmable teacher' in out and '==> 2/2 PWKD student' in out
    for width in ('0.25', '0.5', '0.75', '1'):
        assert f'| teacher ResNet20, width {width} |' in out
    assert '| student ResNet8, PWKD+KD |' in out
    assert 'total wall time' in out
    assert osp.isfile(osp.join(work_dir, 'pwkd_student', 'epoch_4.pth'))
    # A second run into the same folder is refused, nothing is overwritten.
    again = run_script(
        osp.join(REPO_ROOT, 'tools', 'demo.py'), '--work-dir', work_dir,
        '--teacher-epochs', '1', '--student-epochs', '4')
    assert again.returncode != 0
    assert 'already holds checkpoints' in again.stderr
    assert 'demo.py does not resume; give another --work-dir' in again.stderr
    assert 'Pass --resume' not in again.stderr


def test_a_plan_that_would_fail_is_refused_before_the_teacher_trains(
        tmp_path):
    work_dir = str(tmp_path / 'demo')
    result = run_script(
        osp.join(REPO_ROOT, 'tools', 'demo.py'), '--work-dir', work_dir,
        '--student-epochs', '3')
    assert result.returncode != 0
    assert ('--student-epochs 3 is too short for the student\'s 4 stages'
            in result.stderr)
    assert not osp.exists(work_dir)
