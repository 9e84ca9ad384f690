"""A PWKD run killed with SIGKILL and resumed ends as the run never killed.

tools/train.py trains the digits PWKD config (8 epochs of 3 iterations, 4
stages, its RandomCrop augmentation on, validated every 2 epochs) in a
process that is killed three times, at points drawn from seeded random
generators: after an iteration (twice) and half-way through writing a
checkpoint; each time ``--resume`` continues. The stage, teacher
width and learning rate of every iteration, and the final weights, must be
those of one uninterrupted run; the half-written checkpoint is never
resumed from.
"""
import json
import os
import os.path as osp
import random
import signal
import subprocess
import sys

import torch

from ..conftest import REPO_ROOT, config_path

EPOCHS, ITERS_PER_EPOCH = 8, 3
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')

CONFIG = '''
_base_ = [{base!r}]
custom_imports = dict(
    imports=['pwkd_plugin', 'tests.integration.fault_points'],
    allow_failed_imports=False)
pwkd = dict(teacher_ckpt={teacher!r})
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(indices=24))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(indices=8))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={epochs}, val_interval=2)
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_last=True),
    logger=dict(interval=1))
custom_hooks = [dict(type='mmrazor.FaultPointHook')]
randomness = dict(seed=0, deterministic=True)
'''


def kill_points():
    """One point per seed: after an iteration of the first and the second
    third of the run, and inside the save of a later epoch."""
    first = random.Random(0).randint(2, 8)
    second = random.Random(1).randint(10, 16)
    save_epoch = random.Random(2).randint(6, 7)
    return [('PWKD_KILL_AFTER_ITER', first), ('PWKD_KILL_AFTER_ITER', second),
            ('PWKD_KILL_IN_SAVE', save_epoch)]


def train(cfg_file, work_dir, record, resume=False, **kill):
    env = dict(os.environ, OMP_NUM_THREADS='1', PWKD_RECORD=record,
               **{key: str(value) for key, value in kill.items()})
    for key in ('PWKD_KILL_AFTER_ITER', 'PWKD_KILL_IN_SAVE'):
        if key not in kill:
            env.pop(key, None)
    args = [sys.executable, TRAIN, cfg_file, '--work-dir', work_dir]
    return subprocess.run(args + (['--resume'] if resume else []),
                          cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def records(path):
    with open(path) as f:
        return [tuple(json.loads(line)) for line in f]


def test_killed_and_resumed_equals_uninterrupted(
        tmp_path, digits_slimmable_teacher_ckpt):
    cfg_file = str(tmp_path / 'pwkd_digits_fault.py')
    with open(cfg_file, 'w') as f:
        f.write(CONFIG.format(
            base=config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py'),
            teacher=digits_slimmable_teacher_ckpt, epochs=EPOCHS))

    whole_dir = str(tmp_path / 'uninterrupted')
    done = train(cfg_file, whole_dir, str(tmp_path / 'uninterrupted.jsonl'))
    assert done.returncode == 0, done.stderr[-3000:]
    expected = records(str(tmp_path / 'uninterrupted.jsonl'))
    assert len(expected) == EPOCHS * ITERS_PER_EPOCH

    work_dir = str(tmp_path / 'killed')
    by_iteration = {}
    for index, (key, value) in enumerate(kill_points()):
        record = str(tmp_path / f'process_{index}.jsonl')
        killed = train(cfg_file, work_dir, record, resume=index > 0,
                       **{key: value})
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        ran = records(record)
        start = ran[0][1]
        # Every iteration a process ran is the uninterrupted run's.
        assert ran == expected[start:start + len(ran)]
        by_iteration.update({r[1]: r for r in ran})
        if key == 'PWKD_KILL_IN_SAVE':
            # The half-written checkpoint is no checkpoint; the record
            # still names the last whole one.
            assert not osp.exists(osp.join(work_dir, f'epoch_{value}.pth'))
            with open(osp.join(work_dir, 'last_checkpoint')) as f:
                assert f.read() == osp.join(work_dir,
                                            f'epoch_{value - 1}.pth')
            assert ran[-1][1] == value * ITERS_PER_EPOCH - 1
        else:
            assert ran[-1][1] == value - 1

    record = str(tmp_path / 'last_process.jsonl')
    finished = train(cfg_file, work_dir, record, resume=True)
    assert finished.returncode == 0, finished.stderr[-3000:]
    save_epoch = kill_points()[-1][1]
    assert f'resumed epoch: {save_epoch - 1}' in finished.stdout
    ran = records(record)
    assert ran == expected[ran[0][1]:]
    by_iteration.update({r[1]: r for r in ran})
    assert [by_iteration[i] for i in sorted(by_iteration)] == expected

    final = f'epoch_{EPOCHS}.pth'
    resumed = torch.load(osp.join(work_dir, final))['state_dict']
    whole = torch.load(osp.join(whole_dir, final))['state_dict']
    assert resumed.keys() == whole.keys()
    for name, value in whole.items():
        assert torch.equal(resumed[name], value), name
