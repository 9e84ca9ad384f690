"""tools/train.py --amp takes the dtype; bf16 trains on the CPU."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.engine.optimizers import BF16OptimWrapper

from ..conftest import REPO_ROOT, config_path, shrink

PWKD = config_path('pwkd/pwkd_kd_resnet20_resnet8_digits.py')


def train_tool():
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(REPO_ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def merged(monkeypatch, *argv):
    tool = train_tool()
    monkeypatch.setattr('sys.argv', ['train.py', PWKD, *argv])
    args = tool.parse_args()
    return tool.merge_args(Config.fromfile(PWKD), args)


def test_amp_takes_the_dtype(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert merged(monkeypatch, '--amp').optim_wrapper.dtype == 'float16'
    fp16 = merged(monkeypatch, '--amp', 'fp16').optim_wrapper
    assert (fp16.type, fp16.dtype, fp16.loss_scale) == (
        'AmpOptimWrapper', 'float16', 'dynamic')
    bf16 = merged(monkeypatch, '--amp', 'bf16').optim_wrapper
    assert bf16.type == 'mmrazor.BF16OptimWrapper'
    assert 'loss_scale' not in bf16 and 'dtype' not in bf16
    assert merged(monkeypatch).optim_wrapper == Config.fromfile(
        PWKD).optim_wrapper  # without --amp: as the config has it


def test_fp16_amp_without_cuda_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit):
        merged(monkeypatch, '--amp', 'fp16')
    assert '--amp fp16 needs a CUDA GPU' in capsys.readouterr().err


def test_pwkd_student_trains_in_bf16_on_the_cpu(
        monkeypatch, tmp_path, digits_slimmable_teacher_ckpt):
    cfg = merged(monkeypatch, '--amp', 'bf16')
    cfg.pwkd = dict(teacher_ckpt=digits_slimmable_teacher_ckpt,
                    widths=[0.5, 1.0], stage_lengths=[1, 1])
    cfg.train_cfg.max_epochs = 2
    cfg = shrink(prepare_train_config(cfg), str(tmp_path), num_train=32,
                 max_epochs=2)
    runner = Runner.from_cfg(cfg)
    dtypes, losses = [], []
    runner.model.architecture.backbone.conv1.register_forward_hook(
        lambda module, inputs, output: dtypes.append(output.dtype))
    loss_fn = runner.model.loss

    def loss(*args, **kwargs):
        result = loss_fn(*args, **kwargs)
        losses.append({k: v.detach().float() for k, v in result.items()})
        return result

    runner.model.loss = loss
    runner.train()
    assert isinstance(runner.optim_wrapper, BF16OptimWrapper)
    assert len(losses) == 4  # 2 iterations in each of the 2 stages
    assert set(dtypes[:4]) == {torch.bfloat16}  # training forwards
    assert all(torch.isfinite(v) for step in losses for v in step.values())
    assert runner.model.teacher_mutator.current_width == 1.0
