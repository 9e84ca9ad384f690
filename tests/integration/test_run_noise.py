"""What a run prints is about the run: no warnings the plugin causes
itself, each validation reported once."""
import os
import os.path as osp

from mmengine.config import Config

from pwkd_plugin.apis import train_and_validate
from pwkd_plugin.config_blocks import prepare_train_config

from ..conftest import config_path, shrink


def test_a_slimmable_run_logs_no_accumulation_warning_and_one_result(
        tmp_path):
    cfg = prepare_train_config(
        Config.fromfile(
            config_path('pwkd/teachers/slimmable_resnet20_digits.py')))
    shrink(cfg, str(tmp_path), num_train=16, num_val=8, batch_size=8)
    cfg.log_level = 'INFO'
    result = train_and_validate(cfg)
    assert set(result) >= {'width_0.25/accuracy/top1', 'width_1/accuracy/top1'}
    logs = [
        osp.join(dirpath, name)
        for dirpath, _, names in os.walk(str(tmp_path))
        for name in names if name.endswith('.log')
    ]
    assert len(logs) == 1
    with open(logs[0]) as f:
        log = f.read()
    # The plugin accumulates the widths' gradients of one batch itself.
    assert 'Gradient accumulative may slightly decrease performance' not in log
    assert 'Saving checkpoint at 1 epochs' in log  # the log is the run's
    # The last validation is reported once (the train loop's own).
    assert log.count('width_1/accuracy/top1') == 1
