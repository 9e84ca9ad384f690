"""mmpretrain's LayerScale (DeiT3) over the channels active at a width."""
import pytest
import torch
from mmpretrain.models.utils import LayerScale
from mmrazor.models.mutables import SquentialMutableChannel

from pwkd_plugin.models.dynamic_ops import DYNAMIC_OPS, SlimmableLayerScale


def mutable(num_channels, active):
    channel = SquentialMutableChannel(num_channels)
    channel.current_choice = active
    return channel


@pytest.mark.parametrize('data_format,shape', [
    ('channels_last', (2, 5, 3)), ('channels_first', (2, 3, 4, 4))])
@pytest.mark.parametrize('inplace', [False, True])
def test_layer_scale_multiplies_the_active_channels_by_their_factors(
        data_format, shape, inplace):
    scale = LayerScale(8, inplace=inplace, data_format=data_format)
    with torch.no_grad():
        scale.weight.copy_(torch.arange(1., 9.))
    keys = set(scale.state_dict())
    dynamic = DYNAMIC_OPS[LayerScale].convert_from(scale)
    assert isinstance(dynamic, SlimmableLayerScale)
    dynamic.register_mutable_attr('in_channels', mutable(8, 3))
    x = torch.rand(shape)
    factors = torch.tensor([1., 2., 3.])
    factors = factors if data_format == 'channels_last' else \
        factors.view(-1, 1, 1)
    expected = x * factors
    assert torch.equal(dynamic(x.clone()), expected)
    assert dynamic._parameters['weight'].shape == (8, )
    dynamic.mutable_attrs['num_features'].fix_chosen(3)
    static = dynamic.to_static_op()
    assert type(static) is LayerScale
    assert set(static.state_dict()) == keys
    assert torch.equal(static.weight, torch.arange(1., 4.))
    assert torch.equal(static(x.clone()), expected)
