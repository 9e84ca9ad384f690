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


def test_an_older_checkpoint_than_the_latest_is_refused(tmp_path):
    older = write(tmp_path / 'epoch_2.pth', 'two')
    write(tmp_path / 'epoch_3.pth', 'three')
    write(tmp_path / 'best_accuracy_top1_epoch_4.pth', 'four')
    write(tmp_path / 'iter_9.pth', 'other unit')
    with pytest.raises(WorkDirInUseError) as error:
        guard_work_dir(run_cfg(tmp_path, resume=True, load_from=older))
    message = str(error.value)
    assert ('is older than the checkpoints epoch_3.pth, '
            'best_accuracy_top1_epoch_4.pth of work_dir') in message
    assert f'--work-dir NEW_DIR --resume {older}' in message
    assert '--set-aside-later' in message
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'best_accuracy_top1_epoch_4.pth', 'epoch_2.pth', 'epoch_3.pth',
        'iter_9.pth']
    # The latest one resumes as before.
    guard_work_dir(run_cfg(tmp_path, resume=True,
                           load_from=str(tmp_path / 'iter_9.pth')))


def test_set_aside_later_moves_them_and_points_the_record_back(tmp_path):
    older = write(tmp_path / 'epoch_2.pth', 'two')
    write(tmp_path / 'epoch_3.pth', 'three')
    write(tmp_path / 'last_checkpoint', str(tmp_path / 'epoch_3.pth'))
    guard_work_dir(run_cfg(tmp_path, resume=True, load_from=older),
                   set_aside_later=True)
    folders = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].name.startswith('set_aside_')
    assert (folders[0] / 'epoch_3.pth').read_text() == 'three'
    assert not (tmp_path / 'epoch_3.pth').exists()
    assert (tmp_path / 'last_checkpoint').read_text() == older


def test_a_record_naming_another_work_dir_resumes_this_one(tmp_path):
    (tmp_path / 'run').mkdir()
    (tmp_path / 'copy').mkdir()
    original = write(tmp_path / 'run' / 'epoch_4.pth')
    write(tmp_path / 'run' / 'last_checkpoint', original)
    own = write(tmp_path / 'copy' / 'epoch_4.pth')
    write(tmp_path / 'copy' / 'last_checkpoint', original)
    cfg = run_cfg(tmp_path / 'copy', resume=True)
    guard_work_dir(cfg)
    assert cfg.load_from == own
    # Without a file of that name here, both paths are named.
    write(tmp_path / 'copy' / 'last_checkpoint',
          str(tmp_path / 'run' / 'epoch_5.pth'))
    write(tmp_path / 'run' / 'epoch_5.pth')
    with pytest.raises(WorkDirInUseError) as error:
        guard_work_dir(run_cfg(tmp_path / 'copy', resume=True))
    assert str(tmp_path / 'run' / 'epoch_5.pth') in str(error.value)
    assert str(tmp_path / 'copy' / 'epoch_5.pth') in str(error.value)
