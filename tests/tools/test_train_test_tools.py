"""tools/train.py and tools/test.py as a user runs them (the refusals and
the predictions file in this process)."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

from ..conftest import REPO_ROOT, config_path
from ..script_runs import run_script

SMALL = [
    'train_dataloader.dataset.indices=48', 'val_dataloader.dataset.indices=24',
    'test_dataloader.dataset.indices=24', 'default_hooks.logger.interval=1',
    'default_hooks.checkpoint.interval=1'
]


def run_tool(*args):
    return subprocess.run([sys.executable, *args],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_train_resume_test_and_work_dir_guard(tmp_path):
    work_dir = str(tmp_path / 'run')
    config = config_path('demo/resnet8_digits.py')
    train = osp.join('tools', 'train.py')

    first = run_tool(train, config, '--work-dir', work_dir, '--cfg-options',
                     'train_cfg.max_epochs=1', *SMALL)
    assert first.returncode == 0, first.stderr[-3000:]
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    mtime = os.stat(ckpt).st_mtime_ns

    # A fresh run in the same work dir would overwrite epoch_1.pth: refused.
    again = run_script(train, config, '--work-dir', work_dir,
                       '--cfg-options', 'train_cfg.max_epochs=1', *SMALL,
                       cwd=REPO_ROOT)
    assert again.returncode != 0
    assert 'already holds checkpoints (epoch_1.pth)' in again.stderr
    assert '--resume' in again.stderr
    assert os.stat(ckpt).st_mtime_ns == mtime

    resumed = run_tool(train, config, '--work-dir', work_dir, '--resume',
                       '--cfg-options', 'train_cfg.max_epochs=2', *SMALL)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: 1' in resumed.stdout + resumed.stderr
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))

    metrics_file = str(tmp_path / 'metrics.json')
    tested = run_tool(
        osp.join('tools', 'test.py'), config,
        osp.join(work_dir, 'epoch_2.pth'), '--work-dir',
        str(tmp_path / 'test'), '--out', metrics_file, '--out-item',
        'metrics', '--cfg-options', *SMALL)
    assert tested.returncode == 0, tested.stderr[-3000:]
    with open(metrics_file) as f:
        metrics = json.load(f)
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


def test_test_tool_refuses_missing_checkpoint(tmp_path):
    result = run_script(
        osp.join(REPO_ROOT, 'tools', 'test.py'),
        config_path('demo/resnet8_digits.py'), str(tmp_path / 'missing.pth'))
    assert result.returncode != 0
    assert 'missing.pth' in result.stderr and 'does not exist' in result.stderr


def test_out_of_a_slimmable_teacher_holds_every_width(
        tmp_path, digits_slimmable_teacher_ckpt):
    out = str(tmp_path / 'predictions.pkl')
    tested = run_script(
        osp.join(REPO_ROOT, 'tools', 'test.py'),
        config_path('pwkd/teachers/slimmable_resnet20_digits.py'),
        digits_slimmable_teacher_ckpt, '--work-dir', str(tmp_path / 'test'),
        '--out', out, '--cfg-options', 'test_dataloader.dataset.indices=8')
    assert tested.returncode == 0, tested.stderr[-3000:]
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert list(predictions) == [
        'width_0.25', 'width_0.5', 'width_0.75', 'width_1']
    assert all(len(p) == 8 for p in predictions.values())
    scores = [predictions[w][0]['pred_score'] for w in predictions]
    assert not all((s == scores[0]).all() for s in scores[1:])
