"""The slimmable op of ConvNeXt's LayerNorm2d (its layer scale is sliced
as any per-channel parameter: ``test_teacher_family_widths``)."""
import torch
from mmpretrain.models.utils import LayerNorm2d
from mmrazor.models.mutables import SquentialMutableChannel

from pwkd_plugin.models.dynamic_ops import DYNAMIC_OPS, SlimmableLayerNorm2d


def mutable(num_channels, active):
    channel = SquentialMutableChannel(num_channels)
    channel.current_choice = active
    return channel


def test_layer_norm_2d_keeps_its_weights_and_slices_them():
    torch.manual_seed(0)
    norm = LayerNorm2d(8, eps=1e-6)
    torch.nn.init.uniform_(norm.weight)
    torch.nn.init.uniform_(norm.bias)
    dynamic = DYNAMIC_OPS[LayerNorm2d].convert_from(norm)
    assert isinstance(dynamic, SlimmableLayerNorm2d)
    assert torch.equal(dynamic.weight, norm.weight)
    dynamic.register_mutable_attr('in_channels', mutable(8, 3))
    x = torch.rand(2, 3, 4, 5)
    reference = LayerNorm2d(3, eps=1e-6)
    reference.weight.data = norm.weight[:3].clone()
    reference.bias.data = norm.bias[:3].clone()
    expected = reference(x)
    assert torch.allclose(dynamic(x), expected, atol=1e-6)
    channel_last = dynamic(x.permute(0, 2, 3, 1), data_format='channel_last')
    assert torch.allclose(channel_last.permute(0, 3, 1, 2), expected,
                          atol=1e-6)
    dynamic.mutable_attrs['num_features'].fix_chosen(3)
    static = dynamic.to_static_op()
    assert type(static) is LayerNorm2d and static.num_channels == 3
    assert torch.allclose(static(x), expected, atol=1e-6)
