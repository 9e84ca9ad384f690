"""A module's per-channel parameters (layer scales) follow the width."""
import copy

import pytest
import torch
import torch.nn as nn
from mmpretrain.models.backbones.poolformer import PoolFormerBlock
from mmrazor.models.architectures.dynamic_ops import DynamicMixin
from mmrazor.models.mutables import SquentialMutableChannel

from pwkd_plugin.models.dynamic_ops import (SlimmableChannelParameters,
                                            slice_channel_parameter)
from pwkd_plugin.models.dynamic_ops.channel_parameters import channel_dim


class Scaled(nn.Module):
    """A branch times a layer scale of shape (C, 1, 1), as CNN blocks do."""

    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(torch.arange(1., channels + 1).view(
            channels, 1, 1))

    def forward(self, x):
        return x + self.scale * x


def sliced(module, name, active):
    channel = SquentialMutableChannel(
        module._parameters[name].shape[channel_dim(
            module._parameters[name])])
    channel.current_choice = active
    container = slice_channel_parameter(module, name)
    container.register_mutable(channel, 0, channel.num_channels)
    return channel


def test_a_layer_scale_reads_its_active_channels_under_its_own_name():
    block = PoolFormerBlock(8, layer_scale_init_value=1.)
    with torch.no_grad():
        block.layer_scale_1.copy_(torch.arange(8.))
    keys = set(block.state_dict())
    channel = sliced(block, 'layer_scale_1', 3)
    sliced(block, 'layer_scale_2', 5)  # each parameter its own channels
    assert isinstance(block, PoolFormerBlock)
    assert isinstance(block, SlimmableChannelParameters)
    assert isinstance(block, DynamicMixin)  # mmrazor makes it static
    assert torch.equal(block.layer_scale_1, torch.arange(3.))
    assert block.layer_scale_2.shape == (5, )
    assert block._parameters['layer_scale_1'].shape == (8, )
    assert set(block.state_dict()) == keys
    assert [n for n, _ in block.named_parameters()
            if 'scale' in n] == ['layer_scale_1', 'layer_scale_2']
    # The gradient reaches the whole parameter's active entries.
    block.layer_scale_1.sum().backward()
    grad = block._parameters['layer_scale_1'].grad
    assert torch.equal(grad, torch.tensor([1.] * 3 + [0.] * 5))
    assert type(copy.deepcopy(block)) is type(block)

    channel.fix_chosen(3)
    static = block.to_static_op()
    assert static is block and type(static) is PoolFormerBlock
    assert set(static.state_dict()) == keys
    assert torch.equal(static.layer_scale_1, torch.arange(3.))
    assert isinstance(static.layer_scale_1, nn.Parameter)


def test_a_channel_scale_is_sliced_along_its_channel_dimension():
    module = Scaled(6)
    channel = sliced(module, 'scale', 2)
    x = torch.rand(2, 2, 3, 3)
    expected = x + torch.tensor([1., 2.]).view(2, 1, 1) * x
    assert torch.allclose(module(x), expected)
    channel.fix_chosen(2)
    static = module.to_static_op()
    assert type(static) is Scaled and static.scale.shape == (2, 1, 1)
    assert torch.allclose(static(x), expected)


def test_only_a_parameter_with_one_channel_dimension_is_per_channel():
    assert channel_dim(torch.zeros(1, 5, 1, 1)) == 1
    with pytest.raises(ValueError, match='exactly one dimension'):
        channel_dim(torch.zeros(4, 4))
