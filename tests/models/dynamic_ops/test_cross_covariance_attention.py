"""Cross-covariance attention over the heads active at a width."""
import torch
import torch.nn as nn
from mmpretrain.models.backbones.xcit import XCA
from mmpretrain.models.utils import ChannelMultiheadAttention
from mmrazor.models.architectures.dynamic_ops import DynamicLinear
from mmrazor.models.mutables import (MutableChannelContainer,
                                     SquentialMutableChannel)

from pwkd_plugin.models.dynamic_ops import (FORWARD_OPS,
                                            SlimmableChannelMultiheadAttention)
from pwkd_plugin.models.dynamic_ops.cross_covariance_attention import \
    cross_covariance_attention


def _attention(embed_dims=16, num_heads=4):
    torch.manual_seed(0)
    attention = ChannelMultiheadAttention(embed_dims, num_heads=num_heads,
                                          qkv_bias=True).eval()
    with torch.no_grad():
        attention.scale.uniform_(0.5, 1.5)
    return attention


def test_the_heads_function_is_edgenext_and_xcit_attention():
    attention, x = _attention(), torch.rand(2, 5, 16)
    xca = XCA(16, num_heads=4, qkv_bias=True).eval()
    xca.qkv, xca.proj = attention.qkv, attention.proj
    xca.temperature = attention.scale
    heads = attention.proj(
        cross_covariance_attention(attention.qkv(x), attention.scale, 4, 0.,
                                   False))
    assert torch.allclose(heads, attention(x), atol=1e-6)
    assert torch.allclose(heads, xca(x), atol=1e-6)


def _narrowed(attention, heads):
    """``attention`` slimmable, its heads unit at ``heads`` of 4 heads of
    4 channels (as the tracer's heads unit registers it)."""
    dynamic = FORWARD_OPS[ChannelMultiheadAttention].convert_from(attention)
    unit = SquentialMutableChannel(16)
    unit.current_choice = 4 * heads
    dynamic.register_mutable_attr('in_channels', unit)
    qkv = DynamicLinear.convert_from(attention.qkv)
    qkv.load_state_dict(attention.qkv.state_dict())
    outputs = MutableChannelContainer(48)
    for part in range(3):
        outputs.register_mutable(unit, 16 * part, 16 * (part + 1))
    qkv.register_mutable_attr('out_channels', outputs)
    proj = DynamicLinear.convert_from(attention.proj)
    proj.load_state_dict(attention.proj.state_dict())
    inputs = MutableChannelContainer(16)
    inputs.register_mutable(unit, 0, 16)
    proj.register_mutable_attr('in_channels', inputs)
    dynamic.qkv, dynamic.proj = qkv, proj
    return dynamic


def test_whole_heads_are_dropped_with_their_temperatures():
    attention = _attention()
    qkv, proj, scale = (attention.qkv.weight.detach().clone(),
                        attention.proj.weight.detach().clone(),
                        attention.scale.detach().clone())
    qkv_bias = attention.qkv.bias.detach().clone()
    dynamic = _narrowed(attention, heads=2)
    assert isinstance(dynamic, SlimmableChannelMultiheadAttention)
    assert dynamic.active_heads() == 2
    # mmpretrain's attention of 2 heads of 4 (the first heads of q, k and v)
    # reading all 16 input channels, its projection back to 16.
    kept = torch.cat([torch.arange(8) + 16 * part for part in range(3)])
    narrow = ChannelMultiheadAttention(8, num_heads=2, input_dims=16,
                                       qkv_bias=True).eval()
    narrow.proj = nn.Linear(8, 16)
    with torch.no_grad():
        narrow.qkv.weight.copy_(qkv[kept])
        narrow.qkv.bias.copy_(qkv_bias[kept])
        narrow.proj.weight.copy_(proj[:, :8])
        narrow.proj.bias.copy_(attention.proj.bias)
        narrow.scale.copy_(scale[:2])
    x = torch.rand(2, 5, 16)
    expected = narrow(x)
    assert torch.allclose(dynamic(x), expected, atol=1e-6)
    for mutable in dynamic.mutable_attrs.values():
        mutable.fix_chosen()
    static = dynamic.to_static_op()
    assert type(static) is ChannelMultiheadAttention
    assert (static.num_heads, static.embed_dims, static.head_dims) == (2, 8,
                                                                      4)
    assert torch.equal(static.scale.detach(), scale[:2])
    static.qkv, static.proj = (static.qkv.to_static_op(),
                               static.proj.to_static_op())
    assert torch.allclose(static(x), expected, atol=1e-6)
