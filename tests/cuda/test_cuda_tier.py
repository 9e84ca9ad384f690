"""The CUDA tier: what only a GPU shows (``PWKD_TEST_CUDA=1 pytest -m cuda``).

Each test mirrors a CPU test on the GPU: the fast teacher in fp16 and bf16
against a true fp32 copy (TF32 off), a slimmable teacher's joint step, a
PWKD Runner across a stage boundary with each reduced-precision teacher and
with AMP, and ``per_stage`` connectors under a one-rank NCCL run. Without a
GPU (or without ``PWKD_TEST_CUDA=1``) they are skipped, saying why.
"""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmrazor.registry import DATASETS, MODELS

from pwkd_plugin.config_blocks import prepare_train_config
from pwkd_plugin.models.algorithms.fast_teacher import (exact_fp32,
                                                        make_fast_teacher)

from ..conftest import config_path, shrink
from ..distributed.launch_helpers import (dist_train, rank_records,
                                          run_log, write_config)

pytestmark = pytest.mark.cuda

KD = 'demo/kd_resnet20_resnet8_digits.py'
FITNET = 'demo/fitnet_resnet20_resnet8_digits.py'
PWKD = 'pwkd/pwkd_kd_resnet20_resnet8_digits.py'
TEACHER = 'pwkd/teachers/slimmable_resnet20_digits.py'
DTYPES = dict(fp16=torch.float16, bf16=torch.bfloat16)
#: What --amp VALUE makes of the optimizer wrapper (tools/train.py).
AMP = dict(
    fp16=dict(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic'),
    bf16=dict(type='mmrazor.BF16OptimWrapper'))


def digits_batch(cfg, size=16):
    """Real digits images through the config's own pipeline, unprocessed."""
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return pseudo_collate([dataset[i] for i in range(size)])


def needs_bf16(precision):
    if precision == 'bf16' and not torch.cuda.is_bf16_supported(
            including_emulation=False):
        pytest.skip('this GPU has no native bf16 (compute capability < 8.0)')


@pytest.mark.parametrize('precision', ['fp16', 'bf16'])
def test_fast_teacher_follows_a_true_fp32_teacher(precision):
    needs_bf16(precision)
    teacher = MODELS.build(Config.fromfile(config_path(KD)).model.teacher)
    teacher = teacher.cuda()
    torch.manual_seed(0)
    with torch.no_grad():  # batch norm statistics away from 0 / 1
        for _ in range(3):
            teacher.train()(torch.randn(8, 3, 16, 16, device='cuda') * 2 +
                            0.5, mode='tensor')
    teacher.eval()
    fast = make_fast_teacher(copy.deepcopy(teacher), DTYPES[precision])
    inputs = torch.randn(32, 3, 16, 16, device='cuda')
    with torch.no_grad():
        with exact_fp32():
            expected = teacher(inputs, mode='tensor')
        actual = fast(inputs, mode='tensor')
    assert actual.dtype == torch.float32 and actual.device.type == 'cuda'
    assert torch.isfinite(actual).all()
    scale = expected.abs().max().item()
    assert (actual - expected).abs().max().item() < 0.05 * scale
    assert (actual.argmax(1) == expected.argmax(1)).float().mean() > 0.9


def test_slimmable_joint_step_on_the_gpu():
    cfg = prepare_train_config(Config.fromfile(config_path(TEACHER)))
    model = MODELS.build(cfg.model).cuda()
    model.init_weights()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05))
    optim.message_hub.update_info('iter', 0)
    optim.message_hub.update_info('max_iters', 10)
    before = [p.detach().clone() for p in model.parameters()]
    losses = model.train_step(digits_batch(cfg), optim)
    widths = {key.rsplit('.', 1)[0] for key in losses}
    assert {'width_0.25', 'width_1'} <= widths, sorted(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert any(not torch.equal(a, b)
               for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize('precision, amp', [('fp16', None), ('bf16', None),
                                            ('fp16', 'fp16'),
                                            ('bf16', 'bf16')])
def test_pwkd_runner_across_a_stage_boundary(tmp_path, precision, amp,
                                             digits_slimmable_teacher_ckpt):
    needs_bf16(precision)
    cfg = Config.fromfile(config_path(PWKD))
    cfg.pwkd = dict(teacher_ckpt=digits_slimmable_teacher_ckpt,
                    widths=[0.5, 1.0], stage_lengths=[1, 1],
                    teacher_precision=precision)
    cfg.train_cfg.max_epochs = 2
    if amp is not None:
        cfg.optim_wrapper.update(AMP[amp])
    cfg = shrink(prepare_train_config(cfg), str(tmp_path), num_train=32,
                 max_epochs=2)
    runner = Runner.from_cfg(cfg)
    losses = []
    runner.register_hook(LossRecorder(losses), 'LOWEST')
    runner.train()
    model = runner.model
    assert next(model.architecture.parameters()).device.type == 'cuda'
    assert model.teacher_dtype(torch.device('cuda', 0)) == DTYPES[precision]
    assert model.teacher_mutator.current_width == 1.0
    assert len(losses) == 4 and all(map(torch.isfinite, losses))


class LossRecorder(Hook):
    """Records the total loss of every training iteration."""

    def __init__(self, losses):
        self.losses = losses

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(outputs['loss'].detach().float().cpu())


def test_per_stage_connectors_under_one_nccl_rank(
        digits_slimmable_teacher_ckpt, tmp_path):
    config = write_config(
        str(tmp_path / 'per_stage.py'), FITNET,
        f'pwkd = dict(teacher_ckpt={digits_slimmable_teacher_ckpt!r}, '
        "widths=[0.5, 1.0], stage_lengths=[1, 1], "
        "feature_strategy='per_stage')\n"
        # CUDA has no deterministic adaptive_avg_pool2d backward.
        'randomness = dict(seed=0)\n')
    work_dir = str(tmp_path / 'run')
    output = dist_train(config, work_dir, nproc=1)
    assert 'No CUDA device' not in output
    assert 'PWKD stage 2/2: teacher width 1 from epoch 2' in output
    records = rank_records(work_dir)[0]
    assert [r['width'] for r in records] == [0.5] * 4 + [1.0] * 4
    assert "dist_cfg=dict(backend='nccl')" in run_log(work_dir)
