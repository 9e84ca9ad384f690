"""Class attention over the heads active at a width."""
import torch
from mmpretrain.models.backbones.xcit import ClassAttntion
from mmrazor.models.architectures.dynamic_ops import DynamicLinear
from mmrazor.models.mutables import (MutableChannelContainer,
                                     SquentialMutableChannel)

from pwkd_plugin.models.dynamic_ops import (FORWARD_OPS,
                                            SlimmableClassAttention)


def _narrowed(attention, channels):
    """``attention`` slimmable, its stream and heads (one unit, as the
    tracer binds them) at ``channels`` of 16."""
    dynamic = FORWARD_OPS[ClassAttntion].convert_from(attention)
    unit = SquentialMutableChannel(16)
    unit.current_choice = channels
    for name in ('q', 'k', 'v', 'proj'):
        layer = DynamicLinear.convert_from(getattr(attention, name))
        layer.load_state_dict(getattr(attention, name).state_dict())
        for attr in ('in_channels', 'out_channels'):
            container = MutableChannelContainer(16)
            container.register_mutable(unit, 0, 16)
            layer.register_mutable_attr(attr, container)
        setattr(dynamic, name, layer)
    return dynamic, unit


def test_whole_heads_keep_their_dims():
    torch.manual_seed(0)
    attention = ClassAttntion(16, num_heads=4, qkv_bias=True).eval()
    weights = {name: getattr(attention, name).state_dict()
               for name in ('q', 'k', 'v', 'proj')}
    dynamic, unit = _narrowed(attention, channels=8)
    assert isinstance(dynamic, SlimmableClassAttention)
    assert dynamic.head_dims == 4
    # mmpretrain's attention of 2 heads of 4 on the first 8 channels.
    narrow = ClassAttntion(8, num_heads=2, qkv_bias=True).eval()
    for name, state in weights.items():
        getattr(narrow, name).load_state_dict(
            {key: value[:8, :8] if value.dim() == 2 else value[:8]
             for key, value in state.items()})
    x = torch.rand(2, 5, 16)
    expected = narrow(x[..., :8])
    assert torch.allclose(dynamic(x[..., :8]), expected, atol=1e-6)
    unit.fix_chosen()
    static = dynamic.to_static_op()
    assert type(static) is ClassAttntion and static.num_heads == 2
    for name in ('q', 'k', 'v', 'proj'):
        setattr(static, name, getattr(static, name).to_static_op())
    assert torch.allclose(static(x[..., :8]), expected, atol=1e-6)
