"""A BatchNorm1d has private statistics and affine parameters per width."""
import torch
import torch.nn as nn
from mmrazor.models.architectures.dynamic_ops import SwitchableBatchNorm2d
from mmrazor.models.mutables import SimpleMutableChannel

from pwkd_plugin.models.dynamic_ops import (DYNAMIC_OPS, TRACER_OPS,
                                            SwitchableBatchNorm1d)


def switchable(features=8, candidates=(2, 4, 8)):
    norm = SwitchableBatchNorm1d.convert_from(nn.BatchNorm1d(features))
    norm.init_candidates(list(candidates))
    mutable = SimpleMutableChannel(features)
    norm.register_mutable_attr('num_features', mutable)
    return norm, mutable


def test_batch_norm_1d_is_sliced_by_the_tracer_and_the_teacher():
    assert DYNAMIC_OPS[nn.BatchNorm1d] is SwitchableBatchNorm1d
    assert TRACER_OPS[nn.BatchNorm1d].__name__ == 'DynamicBatchNorm1d'
    # the private norms are handled where mmrazor's 2d ones are
    assert issubclass(SwitchableBatchNorm1d, SwitchableBatchNorm2d)


def test_each_width_has_its_own_statistics_and_affine_parameters():
    norm, mutable = switchable()
    assert sorted(int(k) for k in norm.candidate_bn) == [2, 4, 8]
    assert all(type(bn) is nn.BatchNorm1d for bn in norm.candidate_bn.values())
    torch.manual_seed(0)
    for features in (2, 4):
        mutable.current_choice = torch.arange(8) < features
        x = torch.randn(16, features) * 3 + 5  # (N, C), as LeViT's tokens
        norm.train()
        norm(x)
        private = norm.candidate_bn[str(features)]
        assert torch.allclose(private.running_mean, 0.1 * x.mean(0))
        assert int(private.num_batches_tracked) == 1
    # the whole width's statistics never saw the narrow batches
    assert torch.equal(norm.running_mean, torch.zeros(8))
    assert int(norm.num_batches_tracked) == 0


def test_the_static_op_is_the_widths_own_batch_norm_1d():
    norm, mutable = switchable()
    with torch.no_grad():
        norm.candidate_bn['4'].weight.uniform_(0.5, 2)
        norm.candidate_bn['4'].running_var.uniform_(0.5, 2)
    mutable.current_choice = torch.arange(8) < 4
    norm.eval()
    x = torch.randn(3, 4, 5)  # (N, C, L)
    expected = norm(x)
    static = norm.to_static_op()
    assert type(static) is nn.BatchNorm1d and static.num_features == 4
    assert torch.equal(static.eval()(x), expected)
    mutable.current_choice = torch.ones(8, dtype=torch.bool)
    mutable.fix_chosen()
    whole = norm.to_static_op()
    assert type(whole) is nn.BatchNorm1d and whole.num_features == 8
