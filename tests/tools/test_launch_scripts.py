"""What tools/slurm_train.sh and tools/dist_train.sh launch, seen through
stand-ins for srun, sinfo and the interpreter that print their arguments."""
import os
import os.path as osp
import stat
import subprocess

import pytest

from ..conftest import REPO_ROOT


def stand_in(folder, name, body):
    path = osp.join(folder, name)
    with open(path, 'w') as f:
        f.write('#!/bin/sh\n' + body + '\n')
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


def launch(script, args, tmp_path, **env):
    environment = dict(
        PATH=f'{tmp_path}:/usr/bin:/bin', HOME=str(tmp_path), **env)
    return subprocess.run(
        ['bash', osp.join(REPO_ROOT, 'tools', script), *args],
        capture_output=True, text=True, timeout=60, env=environment)


SLURM_ARGS = ['debug', 'job', 'cfg.py', 'work_dir']


@pytest.mark.parametrize('sinfo', [
    'echo "sinfo: error: Unable to contact slurm controller" >&2; exit 1',
    None,  # not installed
])
def test_slurm_keeps_the_gpu_request_when_sinfo_cannot_say(tmp_path, sinfo):
    stand_in(str(tmp_path), 'srun', 'echo "srun $*"')
    if sinfo is not None:
        stand_in(str(tmp_path), 'sinfo', sinfo)
    result = launch('slurm_train.sh', SLURM_ARGS, tmp_path,
                    GPUS_PER_NODE='4')
    assert result.returncode == 0, result.stderr
    assert "cannot query partition 'debug' with sinfo" in result.stderr
    assert 'set GRES= to ask for none' in result.stderr
    assert '--gres=gpu:4' in result.stdout


def test_slurm_on_a_partition_without_gpus_asks_for_none(tmp_path):
    stand_in(str(tmp_path), 'srun', 'echo "srun $*"')
    stand_in(str(tmp_path), 'sinfo', 'echo "(null)"')
    result = launch('slurm_train.sh', SLURM_ARGS, tmp_path)
    assert 'have no GPU resources' in result.stderr
    assert '--gres' not in result.stdout


def test_dist_train_runs_torchrun_through_python(tmp_path):
    stand_in(str(tmp_path), 'my_python', 'echo "python $*"')
    result = launch('dist_train.sh', ['cfg.py', '2', '--resume'], tmp_path,
                    PYTHON=str(tmp_path / 'my_python'))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('python -m torch.distributed.run ')
    assert '--nproc_per_node=2' in result.stdout
    assert result.stdout.rstrip().endswith(
        'cfg.py --launcher pytorch --resume')
