"""Fix ``zeroed_gradients``: DSNAS / DMCP train steps that read gradients
after ``zero_grad()``, which torch >= 2.0 sets to None."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmrazor.models.algorithms.nas.dsnas import DSNAS, DSNASDDP
from mmrazor.models.algorithms.pruning.dmcp import DMCP, DMCPDDP

from pwkd_plugin.compat import keep_gradient_tensors_in_mmrazor
from pwkd_plugin.compat.zeroed_gradients import zero_grad_keeps_tensors

if osp.dirname(osp.abspath(__file__)) not in sys.path:  # the helpers
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _compat_helpers import run_python  # noqa: E402

# A one-process DSNASDDP step on a toy search space (mmrazor's own test
# model, at 8x8), as mmrazor's DDP test runs it.
DSNAS_DDP_STEP = '''
import os
import torch
import torch.distributed as dist
from torch import nn
import pwkd_plugin
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmpretrain.structures import DataSample
from mmrazor.models import DSNAS, NasMutator, OneHotMutableOP
from mmrazor.models.algorithms.nas.dsnas import DSNASDDP
from mmrazor.registry import MODELS
MODELS.register_module(name='torchConv2d', module=nn.Conv2d, force=True)


class Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.mutable = OneHotMutableOP(
            candidates=dict(
                k3=dict(type='torchConv2d', kernel_size=3, padding=1),
                k5=dict(type='torchConv2d', kernel_size=5, padding=2)),
            module_kwargs=dict(in_channels=3, out_channels=4, stride=1))
        self.bn = nn.BatchNorm2d(4)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(loss=self.bn(self.mutable(inputs)))


if WITHOUT_THE_FIX:
    DSNASDDP.train_step = DSNASDDP.train_step.__wrapped__
for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE'):
    os.environ.pop(key, None)
import socket
with socket.socket() as free:
    free.bind(('127.0.0.1', 0))
    port = free.getsockname()[1]
dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                        rank=0, world_size=1)
torch.manual_seed(0)
model = Toy()
mutator = NasMutator()
mutator.prepare_from_supernet(model)
ddp = DSNASDDP(module=DSNAS(model, mutator), find_unused_parameters=True)
MessageHub.get_current_instance().update_info('epoch', 2)
optim = OptimWrapperDict(
    architecture=OptimWrapper(torch.optim.SGD(ddp.parameters(), lr=0.1)),
    mutator=OptimWrapper(torch.optim.SGD(ddp.parameters(), lr=0.01)))
data = dict(inputs=torch.randn(2, 3, 8, 8),
            data_samples=[DataSample().set_gt_label(0)])
result = outcome(lambda: sorted(ddp.train_step(data, optim)))
dist.destroy_process_group()
report(result)
'''


def dsnas_ddp_step(tmp_path, without_the_fix):
    return run_python(
        f'WITHOUT_THE_FIX = {without_the_fix}\n' + DSNAS_DDP_STEP,
        cwd=str(tmp_path))


def test_dsnas_ddp_trains_a_step(tmp_path):
    result = dsnas_ddp_step(tmp_path, False)
    assert 'supernet.loss' in result.get('ok', []), result


def test_without_the_fix_the_step_fails(tmp_path):
    result = dsnas_ddp_step(tmp_path, True)
    assert 'error' in result, result


def toy_wrappers():
    params = [torch.nn.Parameter(torch.ones(3))]
    return params, OptimWrapperDict(
        a=OptimWrapper(torch.optim.SGD(params, lr=0.1)))


def test_zero_grad_keeps_tensors_only_inside_the_block():
    params, wrappers = toy_wrappers()
    with zero_grad_keeps_tensors(wrappers):
        (params[0] * 2).sum().backward()
        wrappers['a'].zero_grad()
        assert torch.equal(params[0].grad, torch.zeros(3))
    (params[0] * 2).sum().backward()
    wrappers['a'].zero_grad()
    assert params[0].grad is None
    assert 'zero_grad' not in vars(wrappers['a'])


@pytest.mark.parametrize('cls', [DSNAS, DSNASDDP, DMCP, DMCPDDP],
                         ids=lambda c: c.__name__)
def test_exactly_these_train_steps_are_wrapped_once(cls):
    step = cls.train_step
    assert step.__wrapped__.__module__ == cls.__module__
    assert keep_gradient_tensors_in_mmrazor()
    assert cls.train_step is step
    assert not hasattr(step.__wrapped__, '__wrapped__')
