"""The digits slimmable teacher trained, validated and tested for real."""
import json
import os.path as osp
import subprocess
import sys

import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmrazor.models.architectures.dynamic_ops import SwitchableBatchNorm2d

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.engine.hooks import SlimmableBNRecalibrationHook

from ..conftest import REPO_ROOT, config_path, shrink

CONFIG = config_path('pwkd/teachers/slimmable_resnet20_digits.py')
TAGS = ('width_0.25', 'width_0.5', 'width_0.75', 'width_1')
METRICS = {f'{tag}/accuracy/top1' for tag in TAGS}
VAL_TIMINGS = ('val/time', 'val/data_time')  # mmengine's, per iteration


def slimmable_cfg(work_dir, **block):
    cfg = Config.fromfile(CONFIG)
    cfg.slimmable.update(block)
    cfg = prepare_train_config(cfg)
    return shrink(
        cfg, work_dir, num_train=32, num_val=16, max_epochs=1, batch_size=8)


def test_slimmable_teacher_trains_validates_and_tests(tmp_path):
    work_dir = str(tmp_path / 'slimmable')
    runner = Runner.from_cfg(slimmable_cfg(work_dir))
    model = runner.model
    assert type(model).__name__ == 'SlimmableTeacher'
    before = model.architecture.backbone.conv1.weight.detach().clone()
    runner.train()
    assert runner.iter == 4  # 32 samples / batch 8, one epoch
    assert not torch.equal(before, model.architecture.backbone.conv1.weight)

    # Every width was trained: the training log has each width's loss.
    scalars = runner.message_hub.log_scalars
    for tag in TAGS:
        assert torch.isfinite(
            torch.tensor(scalars[f'train/{tag}.loss'].current())), tag
    # Validation at the end of the epoch: one accuracy per width.
    val = {
        key[len('val/'):]: scalars[key].current()
        for key in scalars
        if key.startswith('val/') and key not in VAL_TIMINGS
    }
    assert set(val) == METRICS
    for value in val.values():
        assert 0.0 <= value <= 100.0

    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    assert any('candidate_bn' in key for key in state)

    # A second validation run gives the same per-width metrics and leaves
    # the model at the width it found.
    model.mutator.set_width(0.5)
    metrics = runner.val_loop.run()
    assert set(metrics) == METRICS
    for key in METRICS:
        assert abs(metrics[key] - val[key]) < 1e-6, key
    assert model.mutator.current_width == 0.5

    # tools/test.py on the config and the checkpoint: the same numbers on
    # the same 16 samples.
    metrics_file = str(tmp_path / 'metrics.json')
    tested = subprocess.run([
        sys.executable,
        osp.join('tools', 'test.py'), CONFIG, ckpt, '--work-dir',
        str(tmp_path / 'test'), '--out', metrics_file, '--out-item',
        'metrics', '--cfg-options', 'test_dataloader.dataset.indices=16'
    ],
                            cwd=REPO_ROOT,
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert tested.returncode == 0, tested.stderr[-3000:]
    with open(metrics_file) as f:
        test_metrics = json.load(f)
    assert set(test_metrics) == METRICS
    for key in METRICS:
        assert abs(test_metrics[key] - val[key]) < 1e-4, (key, test_metrics,
                                                          val)


def _bn_state(model):
    """{(layer, channels): running stats} of every width's batch norm.

    The whole width uses the SwitchableBatchNorm2d's own statistics, a
    narrower one its ``candidate_bn`` of that many channels.
    """
    state = {}
    for name, module in model.architecture.named_modules():
        if isinstance(module, SwitchableBatchNorm2d):
            bns = {module.num_features: module}
            bns.update({
                int(key): bn
                for key, bn in module.candidate_bn.items()
                if int(key) < module.num_features
            })
            for channels, bn in bns.items():
                state[(name, channels)] = dict(
                    mean=bn.running_mean.clone(),
                    var=bn.running_var.clone(),
                    tracked=int(bn.num_batches_tracked))
    return state


def test_fine_tuning_an_ordinary_checkpoint_recalibrates_bns(
        tmp_path, digits_teacher_ckpt):
    plain = torch.load(digits_teacher_ckpt, map_location='cpu')['state_dict']
    assert not any('candidate_bn' in key for key in plain)
    work_dir = str(tmp_path / 'finetune')
    cfg = slimmable_cfg(
        work_dir, init_from=digits_teacher_ckpt, bn_recalibration_batches=2)
    runner = Runner.from_cfg(cfg)
    hooks = [h for h in runner.hooks
             if isinstance(h, SlimmableBNRecalibrationHook)]
    assert len(hooks) == 1 and hooks[0].num_batches == 2

    # Snapshot the model right after the hook ran (before the first step).
    seen = {}
    original = hooks[0].before_train

    def before_train(runner_):
        original(runner_)
        model = runner_.model
        seen['width'] = model.mutator.current_width
        seen['training'] = model.training
        seen['conv1'] = model.architecture.backbone.conv1.weight.detach(
        ).clone()
        seen['fc'] = model.architecture.head.fc.weight.detach().clone()
        seen['bns'] = _bn_state(model)

    hooks[0].before_train = before_train
    runner.train()
    assert runner.iter == 4
    assert seen, 'the recalibration hook did not run'

    # init_from survived the Runner's init_weights: the whole width starts
    # as the ordinary checkpoint.
    assert torch.equal(seen['conv1'], plain['backbone.conv1.weight'])
    assert torch.equal(seen['fc'], plain['head.fc.weight'])
    assert seen['width'] == 1.0
    narrow = 0
    for (layer, channels), stats in seen['bns'].items():
        mean = plain[f'{layer}.running_mean']
        var = plain[f'{layer}.running_var']
        if channels == mean.numel():
            # The whole width keeps the checkpoint's statistics.
            assert torch.equal(stats['mean'], mean), layer
            assert torch.equal(stats['var'], var), layer
        else:
            # Narrower widths: recalibrated on 2 training batches, no longer
            # the sliced statistics of the whole layer.
            narrow += 1
            assert stats['tracked'] == 2, (layer, channels)
            assert not torch.allclose(stats['mean'], mean[:channels]), (
                layer, channels)
            assert not torch.allclose(stats['var'], var[:channels]), (
                layer, channels)
    assert narrow == 21 * 3  # resnet20: 21 batch norms, 3 narrower widths

    scalars = runner.message_hub.log_scalars
    assert {
        k[len('val/'):]
        for k in scalars if k.startswith('val/') and k not in VAL_TIMINGS
    } == METRICS
