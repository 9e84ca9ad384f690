"""A restored PWKDCyclicLR keeps the config's plan and the checkpoint's
progress."""
import torch
from mmengine.optim import OptimWrapper

from pwkd_plugin.engine.schedulers import PWKDCyclicLR


def scheduler(stage_lengths):
    wrapper = OptimWrapper(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
    return PWKDCyclicLR(wrapper, stage_lengths=stage_lengths, by_epoch=False)


def test_state_restores_progress_not_plan():
    old = scheduler([4, 4])
    for _ in range(5):
        old.optimizer.step()
        old.step()
    new = scheduler([2, 2, 6])
    new.load_state_dict(old.state_dict())
    assert new.stage_lengths == [2, 2, 6] and new.end == 10
    assert new.last_step == old.last_step == 5
    # The restored optimizer has the old plan's value until it is applied.
    restored = old.optimizer.param_groups[0]['lr']
    new.optimizer.param_groups[0]['lr'] = restored
    assert restored == old.value_at(0.1, 5) != new.value_at(0.1, 5)
    new.apply_current_value()
    assert new.optimizer.param_groups[0]['lr'] == new.value_at(0.1, 5)
    assert new.value_at(0.1, 5) == scheduler([2, 2, 6]).value_at(0.1, 5)
