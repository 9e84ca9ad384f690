"""tools/train.py --resume never writes over a later checkpoint, and a copied
work dir continues its own run. The tool runs in this process, but for the
copied work dir, whose output must not hold a warning (a process shows each
warning once)."""
import glob
import os
import os.path as osp
import shutil

import pytest

from ..conftest import REPO_ROOT, config_path
from ..script_runs import run_script
from .test_train_test_tools import SMALL, run_tool

TRAIN = osp.join('tools', 'train.py')
CONFIG = config_path('demo/resnet8_digits.py')
KEEP = ['default_hooks.checkpoint.max_keep_ckpts=3']


def contents(work_dir):
    """name -> bytes of every checkpoint and record at the work dir's top."""
    found = {}
    for path in glob.glob(osp.join(work_dir, '*')):
        if osp.isfile(path):
            with open(path, 'rb') as f:
                found[osp.basename(path)] = f.read()
    return found


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
    """A finished run of 4 epochs: epoch_2.pth to epoch_4.pth kept."""
    work_dir = str(tmp_path_factory.mktemp('finished') / 'run')
    done = run_script(TRAIN, CONFIG, '--work-dir', work_dir, '--cfg-options',
                      'train_cfg.max_epochs=4', *SMALL, *KEEP, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return work_dir


def test_resuming_an_older_checkpoint_overwrites_nothing(
        tmp_path, finished_run):
    work_dir = str(tmp_path / 'run')
    shutil.copytree(finished_run, work_dir)
    before = contents(work_dir)
    older = osp.join(work_dir, 'epoch_2.pth')
    refused = run_script(TRAIN, CONFIG, '--work-dir', work_dir, '--resume',
                         older, '--cfg-options', 'train_cfg.max_epochs=6',
                         *SMALL, *KEEP, cwd=REPO_ROOT)
    assert refused.returncode != 0
    last = refused.stderr.strip().splitlines()[-1]
    assert 'is older than the checkpoints epoch_3.pth, epoch_4.pth' in last
    assert '--set-aside-later' in last and '--work-dir NEW_DIR' in last
    assert contents(work_dir) == before
    assert sorted(os.listdir(work_dir)) == sorted(os.listdir(finished_run))

    # The ways on: the continued run in a new work dir ...
    elsewhere = str(tmp_path / 'continued')
    continued = run_script(TRAIN, CONFIG, '--work-dir', elsewhere, '--resume',
                           older, '--cfg-options', 'train_cfg.max_epochs=3',
                           *SMALL, *KEEP, cwd=REPO_ROOT)
    assert continued.returncode == 0, continued.stderr[-3000:]
    assert osp.isfile(osp.join(elsewhere, 'epoch_3.pth'))
    assert contents(work_dir) == before
    # ... or here, the later checkpoints moved aside first.
    moved = run_script(TRAIN, CONFIG, '--work-dir', work_dir, '--resume',
                       older, '--set-aside-later', '--cfg-options',
                       'train_cfg.max_epochs=3', *SMALL, *KEEP, cwd=REPO_ROOT)
    assert moved.returncode == 0, moved.stderr[-3000:]
    aside, = glob.glob(osp.join(work_dir, 'set_aside_*'))
    assert contents(aside) == {
        name: before[name] for name in ('epoch_3.pth', 'epoch_4.pth')}
    assert osp.isfile(osp.join(work_dir, 'epoch_3.pth'))


def test_a_copied_work_dir_resumes_its_own_checkpoint(tmp_path,
                                                      finished_run):
    original = contents(finished_run)
    copy = str(tmp_path / 'copy')
    shutil.copytree(finished_run, copy)
    resumed = run_tool(TRAIN, CONFIG, '--work-dir', copy, '--resume',
                       '--cfg-options', 'train_cfg.max_epochs=5', *SMALL,
                       *KEEP)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    output = resumed.stdout + resumed.stderr
    assert f"resuming this work dir's {copy}/epoch_4.pth" in output
    assert 'Auto resumed from the latest checkpoint' not in output
    assert 'resumed epoch: 4' in output
    # No accelerator: nothing pinned, so torch does not warn at each loader.
    assert "'pin_memory' argument is set as true" not in output
    assert osp.isfile(osp.join(copy, 'epoch_5.pth'))
    with open(osp.join(copy, 'last_checkpoint')) as f:
        assert f.read() == osp.join(copy, 'epoch_5.pth')
    assert contents(finished_run) == original
