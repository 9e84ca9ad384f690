"""The work-dir guard: no run writes over another run's checkpoints."""
import os.path as osp

import pytest
from mmengine.config import Config

from pwkd_plugin.apis import WorkDirInUseError, guard_work_dir


def run_cfg(work_dir, resume=False, load_from=None):
    return Config(dict(work_dir=str(work_dir), resume=resume,
                       load_from=load_from))


def write(path, text='x'):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def test_an_empty_or_checkpoint_free_work_dir_is_free(tmp_path):
    guard_work_dir(run_cfg(tmp_path / 'not_made_yet'))
    write(tmp_path / 'notes.txt')
    guard_work_dir(run_cfg(tmp_path))


def test_any_checkpoint_refuses_a_fresh_run(tmp_path):
    write(tmp_path / 'epoch_5.pth')  # no last_checkpoint record
    with pytest.raises(WorkDirInUseError) as error:
        guard_work_dir(run_cfg(tmp_path))
    assert 'already holds checkpoints (epoch_5.pth)' in str(error.value)
    assert '--resume' in str(error.value)


def test_resume_without_a_path_needs_a_record_naming_a_checkpoint(tmp_path):
    ckpt = write(tmp_path / 'epoch_5.pth')
    with pytest.raises(WorkDirInUseError,
                       match='no last_checkpoint record names one of them'):
        guard_work_dir(run_cfg(tmp_path, resume=True))
    write(tmp_path / 'last_checkpoint', str(tmp_path / 'epoch_9.pth'))
    with pytest.raises(WorkDirInUseError, match=f'--resume {ckpt}'):
        guard_work_dir(run_cfg(tmp_path, resume=True))  # names a lost file
    write(tmp_path / 'last_checkpoint', ckpt)
    guard_work_dir(run_cfg(tmp_path, resume=True))


def test_resume_must_name_a_checkpoint_of_this_work_dir(tmp_path):
    (tmp_path / 'run').mkdir()
    (tmp_path / 'other').mkdir()
    ours = write(tmp_path / 'run' / 'epoch_5.pth')
    theirs = write(tmp_path / 'other' / 'epoch_2.pth')
    guard_work_dir(run_cfg(tmp_path / 'run', resume=True, load_from=ours))
    with pytest.raises(WorkDirInUseError, match='is not one of them'):
        guard_work_dir(
            run_cfg(tmp_path / 'run', resume=True, load_from=theirs))
    # Into a work dir of its own, a checkpoint from elsewhere resumes.
    guard_work_dir(run_cfg(tmp_path / 'new', resume=True, load_from=theirs))
    with pytest.raises(FileNotFoundError, match='no such checkpoint file'):
        guard_work_dir(
            run_cfg(tmp_path / 'run', resume=True,
                    load_from=osp.join(tmp_path, 'run', 'epoch_6.pth')))
