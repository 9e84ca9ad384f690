"""tools/plot_schedule.py: the schedule of a config as a PNG."""
import os.path as osp

from ..conftest import REPO_ROOT, config_path
from ..script_runs import run_script

TOOL = osp.join(REPO_ROOT, 'tools', 'plot_schedule.py')


def plot(*args):
    return run_script(TOOL, *args)


def test_plots_a_pwkd_config_and_keeps_an_existing_png(tmp_path):
    out = str(tmp_path / 'schedule.png')
    result = plot(config_path('pwkd/resnet_cifar100.py'), '--out', out,
                  '--iters-per-epoch', '2')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'lr 0.05 .. 0.0005' in result.stdout
    with open(out, 'rb') as file:
        assert file.read(8) == b'\x89PNG\r\n\x1a\n'
    size = osp.getsize(out)

    again = plot(config_path('pwkd/resnet_cifar100.py'), '--out', out)
    assert again.returncode != 0
    assert 'exists; give another --out or --force' in again.stderr
    assert osp.getsize(out) == size


def test_unknown_teacher_widths_are_a_clear_error(tmp_path):
    result = plot(config_path('pwkd/resnet_cifar100.py'), '--out',
                  str(tmp_path / 'x.png'), '--cfg-options', 'pwkd.widths=None')
    assert result.returncode != 0
    assert 'pwkd.widths is not given' in result.stderr
    assert not osp.exists(tmp_path / 'x.png')


def test_an_iteration_based_config_names_no_epoch_length(tmp_path):
    result = plot(config_path('pwkd/resnet_cifar100.py'), '--out',
                  str(tmp_path / 'x.png'), '--cfg-options',
                  'train_cfg.type=IterBasedTrainLoop', 'train_cfg.max_iters=8',
                  'train_cfg.by_epoch=False', 'pwkd.stage_lengths=[2,2,2,2]')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'wrote ' in result.stdout and ': iteration 0..' in result.stdout
    assert 'iterations per epoch' not in result.stdout
