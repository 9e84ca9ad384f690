"""Two processes through tools/dist_train.sh (torchrun), CPU and gloo.

The slimmable teacher (``SlimmableTeacherDDP``) and a PWKD student
(mmengine's default DDP wrapper) train on two ranks; every rank records each
iteration (tests/distributed/rank_recorder.py) and the digest of its weights
at the end. Each run takes 10 to 20 s on two cores.
"""
import json
import os.path as osp
import sys

import pytest
import torch

from ..conftest import REPO_ROOT
from .launch_helpers import (check_ok, clean_env, dist_train, free_port,
                             param_digests, rank_records, run, run_log,
                             without_rank, write_config)

TEACHER = 'pwkd/teachers/slimmable_resnet20_digits.py'
PWKD = 'pwkd/pwkd_kd_resnet20_resnet8_digits.py'


def _state_dict(work_dir, epoch):
    return torch.load(osp.join(work_dir, f'epoch_{epoch}.pth'))['state_dict']


def _assert_same_weights(work_dir_a, work_dir_b, epoch):
    a, b = _state_dict(work_dir_a, epoch), _state_dict(work_dir_b, epoch)
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert torch.equal(value, b[key]), key


def _assert_ranks_agree(work_dir, iterations):
    """Both ranks ran ``iterations`` iterations with the same epoch, stage,
    teacher width and learning rate, and ended with the same weights."""
    records = rank_records(work_dir)
    assert sorted(records) == [0, 1]
    assert [r['iter'] for r in records[0]] == list(iterations)
    assert all(r['world_size'] == 2 for rank in records.values()
               for r in rank)
    assert without_rank(records[0]) == without_rank(records[1])
    digests = param_digests(work_dir)
    assert digests[0] == digests[1], 'the ranks ended with different weights'
    return records[0]


@pytest.fixture(scope='module')
def teacher_run(tmp_path_factory):
    """The slimmable teacher, 2 epochs on 2 processes."""
    tmp = tmp_path_factory.mktemp('dist_teacher')
    config = write_config(str(tmp / 'teacher.py'), TEACHER)
    work_dir = str(tmp / 'run')
    output = dist_train(config, work_dir)
    return config, work_dir, output


def test_slimmable_teacher_on_two_processes(teacher_run):
    _, work_dir, output = teacher_run
    assert 'No CUDA device: 2 processes' in output
    records = _assert_ranks_agree(work_dir, range(4))
    # 2 iterations per epoch; the cosine schedule lowers the lr per epoch.
    lrs = [r['lr'] for r in records]
    assert lrs[0] == lrs[1] == 0.1 and lrs[2] == lrs[3] < 0.1
    for epoch in (1, 2):
        assert osp.isfile(osp.join(work_dir, f'epoch_{epoch}.pth'))
    log = run_log(work_dir)
    assert 'Distributed launcher: pytorch' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    assert "dist_cfg=dict(backend='gloo')" in log
    # Every width trained and was validated (on both ranks' samples).
    for width in ('0.25', '0.5', '0.75', '1'):
        assert f'width_{width}.loss' in log
        assert f'width_{width}/accuracy/top1' in log


def test_slimmable_teacher_resumes_on_two_processes(teacher_run, tmp_path):
    config, full_dir, _ = teacher_run
    work_dir = str(tmp_path / 'resumed')
    output = dist_train(
        config,
        work_dir,
        extra_args=['--resume',
                    osp.join(full_dir, 'epoch_1.pth')])
    assert 'resumed epoch: 1, iter: 2' in output
    resumed = _assert_ranks_agree(work_dir, range(2, 4))
    full = rank_records(full_dir)[0]
    assert without_rank(resumed) == without_rank(full[2:])
    assert param_digests(work_dir) == param_digests(full_dir)
    _assert_same_weights(work_dir, full_dir, 2)


def test_pwkd_student_on_two_processes_across_a_stage_and_resumed(
        teacher_run, tmp_path):
    _, teacher_dir, _ = teacher_run
    config = write_config(
        str(tmp_path / 'pwkd.py'), PWKD,
        f'pwkd = dict(teacher_ckpt={osp.join(teacher_dir, "epoch_2.pth")!r}'
        ', widths=[0.5, 1.0], stage_lengths=[1, 1])\n')
    full_dir = str(tmp_path / 'run')
    output = dist_train(config, full_dir)
    assert 'PWKD stage 2/2: teacher width 1 from epoch 2' in output
    records = _assert_ranks_agree(full_dir, range(4))
    # Both ranks switch the teacher from 0.5 to 1.0 at the same step, the
    # stage boundary (iteration 2), where the learning rate restarts.
    assert [r['width'] for r in records] == [0.5, 0.5, 1.0, 1.0]
    assert [r['stage'] for r in records] == [1, 1, 2, 2]
    lrs = [r['lr'] for r in records]
    assert lrs[0] == lrs[2] == 0.1 and lrs[1] == lrs[3] < 0.1

    # Resumed from the checkpoint at the boundary, in another work dir.
    resumed_dir = str(tmp_path / 'resumed')
    output = dist_train(
        config,
        resumed_dir,
        extra_args=['--resume', osp.join(full_dir, 'epoch_1.pth')])
    assert 'PWKD stage 2/2: teacher width 1 from epoch 2' in output
    resumed = _assert_ranks_agree(resumed_dir, range(2, 4))
    assert without_rank(resumed) == without_rank(records[2:])
    assert param_digests(resumed_dir) == param_digests(full_dir)
    _assert_same_weights(resumed_dir, full_dir, 2)



def test_test_tool_on_two_processes_matches_one(teacher_run, tmp_path):
    """tools/test.py under torchrun: every width evaluated on both ranks'
    samples, the same metrics as a single process."""
    config, work_dir, _ = teacher_run
    checkpoint = osp.join(work_dir, 'epoch_2.pth')
    options = ['--cfg-options', 'test_dataloader.dataset.indices=16',
               'test_dataloader.batch_size=4']
    metrics = {}
    for nproc in (1, 2):
        out = str(tmp_path / f'metrics_{nproc}.json')
        if nproc == 1:
            launch = [sys.executable]
        else:
            launch = ['torchrun', '--nnodes=1', '--nproc_per_node=2',
                      '--master_addr=127.0.0.1',
                      f'--master_port={free_port()}']
        cmd = launch + [
            osp.join(REPO_ROOT, 'tools', 'test.py'), config, checkpoint,
            '--work-dir', str(tmp_path / f'test_{nproc}'), '--out', out,
            '--out-item', 'metrics', '--launcher',
            'none' if nproc == 1 else 'pytorch', *options]
        output = check_ok(run(cmd, clean_env(PYTHONPATH=REPO_ROOT)))
        if nproc == 2:
            assert 'No CUDA device: 2 processes' in output
        with open(out) as f:
            metrics[nproc] = json.load(f)
    assert sorted(metrics[2]) == [
        f'width_{w}/accuracy/top1' for w in ('0.25', '0.5', '0.75', '1')]
    assert metrics[2] == metrics[1]
