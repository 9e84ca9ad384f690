"""mmpretrain's LayerScale (DeiT3, EfficientFormer) follows the width as a
module with a per-channel parameter, in either data format."""
import pytest
import torch
from mmpretrain.models.utils import LayerScale
from mmrazor.models.mutables import SquentialMutableChannel

from pwkd_plugin.models.dynamic_ops import slice_channel_parameter


@pytest.mark.parametrize('data_format,shape', [
    ('channels_last', (2, 5, 3)), ('channels_first', (2, 3, 4, 4))])
@pytest.mark.parametrize('inplace', [False, True])
def test_layer_scale_multiplies_the_active_channels_by_their_factors(
        data_format, shape, inplace):
    scale = LayerScale(8, inplace=inplace, data_format=data_format)
    with torch.no_grad():
        scale.weight.copy_(torch.arange(1., 9.))
    keys = set(scale.state_dict())
    channel = SquentialMutableChannel(8)
    channel.current_choice = 3
    slice_channel_parameter(scale, 'weight').register_mutable(channel, 0, 8)
    x = torch.rand(shape)
    factors = torch.tensor([1., 2., 3.])
    if data_format == 'channels_first':
        factors = factors.view(-1, 1, 1)
    expected = x * factors
    assert torch.equal(scale(x.clone()), expected)
    assert scale._parameters['weight'].shape == (8, )
    channel.fix_chosen(3)
    static = scale.to_static_op()
    assert type(static) is LayerScale
    assert set(static.state_dict()) == keys
    assert torch.equal(static.weight, torch.arange(1., 4.))
    assert torch.equal(static(x.clone()), expected)
