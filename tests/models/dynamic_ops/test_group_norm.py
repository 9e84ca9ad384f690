"""The slimmable GroupNorm: a group norm built at the narrow width."""
import pytest
import torch
import torch.nn as nn
from mmrazor.models.mutables import (MutableChannelContainer,
                                     SquentialMutableChannel)

from pwkd_plugin.models.dynamic_ops import (DYNAMIC_OPS, TRACER_OPS,
                                            SlimmableGroupNorm)


def group_norm(num_groups, channels):
    torch.manual_seed(0)
    norm = nn.GroupNorm(num_groups, channels)
    nn.init.uniform_(norm.weight)
    nn.init.uniform_(norm.bias)
    return norm


def sliced(norm, per_group, groups=1):
    """The slimmable copy of ``norm`` keeping the first ``per_group``
    channels of each of ``groups`` ranges, as a channel unit registers
    them."""
    dynamic = DYNAMIC_OPS[nn.GroupNorm].convert_from(norm)
    size = norm.num_channels // groups
    channel = SquentialMutableChannel(size)
    channel.current_choice = per_group
    container = MutableChannelContainer(norm.num_channels)
    for group in range(groups):
        container.register_mutable(channel, group * size, (group + 1) * size)
    dynamic.register_mutable_attr('in_channels', container)
    dynamic.register_mutable_attr('out_channels', container)  # same attr
    return dynamic, channel


def test_one_group_normalises_over_the_kept_channels():
    """PoolFormer's norm (one group, a LayerNorm over channels)."""
    norm = group_norm(1, 8)
    dynamic, channel = sliced(norm, 3)
    assert isinstance(dynamic, SlimmableGroupNorm)
    assert TRACER_OPS[nn.GroupNorm] is SlimmableGroupNorm
    assert torch.equal(dynamic.weight, norm.weight)
    x = torch.rand(2, 3, 4, 5)
    narrow = nn.GroupNorm(1, 3)
    narrow.weight.data = norm.weight[:3].clone()
    narrow.bias.data = norm.bias[:3].clone()
    expected = narrow(x)
    assert torch.allclose(dynamic(x), expected, atol=1e-6)
    channel.fix_chosen(3)
    static = dynamic.to_static_op()
    assert type(static) is nn.GroupNorm
    assert (static.num_groups, static.num_channels) == (1, 3)
    assert torch.allclose(static(x), expected, atol=1e-6)


def test_several_groups_keep_the_first_channels_of_every_group():
    """The tracer binds the groups position by position: 2 groups of 4
    channels keep channels 0, 1 and 4, 5 at 2 per group."""
    norm = group_norm(2, 8)
    dynamic, _ = sliced(norm, 2, groups=2)
    kept = [0, 1, 4, 5]
    narrow = nn.GroupNorm(2, 4)
    narrow.weight.data = norm.weight[kept].clone()
    narrow.bias.data = norm.bias[kept].clone()
    x = torch.rand(2, 4, 3, 3)
    assert torch.allclose(dynamic(x), narrow(x), atol=1e-6)


def test_a_count_the_groups_do_not_divide_is_refused():
    dynamic, _ = sliced(group_norm(2, 8), 3)
    with pytest.raises(ValueError, match='multiple of the group count'):
        dynamic(torch.rand(1, 3, 2, 2))
