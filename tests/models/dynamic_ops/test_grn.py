"""ConvNeXt-V2's GRN over the channels active at a width."""
import pytest
import torch
from mmpretrain.models.utils import GRN
from mmrazor.models.mutables import SquentialMutableChannel

from pwkd_plugin.models.dynamic_ops import DYNAMIC_OPS, SlimmableGRN


@pytest.mark.parametrize('data_format', ['channel_first', 'channel_last'])
def test_grn_normalises_over_the_active_channels(data_format):
    torch.manual_seed(0)
    grn = GRN(8)
    with torch.no_grad():
        grn.gamma.uniform_(0.5, 1.5)
        grn.beta.uniform_(-0.5, 0.5)
    keys = set(grn.state_dict())
    narrow = GRN(3)
    narrow.load_state_dict({k: v[:3] for k, v in grn.state_dict().items()})
    dynamic = DYNAMIC_OPS[GRN].convert_from(grn)
    assert isinstance(dynamic, SlimmableGRN)
    channel = SquentialMutableChannel(8)
    channel.current_choice = 3
    dynamic.register_mutable_attr('in_channels', channel)
    x = torch.rand(2, 3, 4, 4)
    if data_format == 'channel_last':
        x = x.permute(0, 2, 3, 1)
    expected = narrow(x, data_format=data_format)
    assert torch.allclose(dynamic(x, data_format=data_format), expected,
                          atol=1e-6)
    dynamic.mutable_attrs['num_features'].fix_chosen(3)
    static = dynamic.to_static_op()
    assert type(static) is GRN and static.in_channels == 3
    assert set(static.state_dict()) == keys
    assert torch.allclose(static(x, data_format=data_format), expected,
                          atol=1e-6)
