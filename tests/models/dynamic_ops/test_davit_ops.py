"""DaViT's attentions, downsampling and backbone in the forms the channel
tracer follows and a narrow width runs."""
import copy

import pytest
import torch
import torch.fx
from mmpretrain.models.backbones import DaViT
from mmpretrain.models.backbones.davit import (ChannelAttention,
                                               DaViTDownSample,
                                               DaViTWindowMSA)

from pwkd_plugin.models.dynamic_ops import (FORWARD_OPS, SlimmableDaViT,
                                            SlimmableDaViTDownSample,
                                            SlimmableDaViTWindowMSA)
from pwkd_plugin.models.dynamic_ops.davit_channel_attention import (
    HeadsChannelAttention, SlimmableChannelAttention)
from pwkd_plugin.models.dynamic_ops.davit_downsample import \
    TokenDaViTDownSample
from pwkd_plugin.models.dynamic_ops.davit_window_attention import \
    HeadsDaViTWindowMSA


class Calls(torch.nn.Module):
    """Calls a module on tokens (torch.fx traces into it)."""

    def __init__(self, module, *args):
        super().__init__()
        self.module, self.args = module, args

    def forward(self, x):
        return self.module(x, *self.args)


def traced_targets(module, *args):
    return [node.target for node in
            torch.fx.symbolic_trace(Calls(module, *args)).graph.nodes]


@pytest.mark.parametrize('masked', [False, True])
def test_window_attention_computes_mmpretrain(masked):
    """2 heads of 4 over 4 windows of 9 tokens, with a shift's mask."""
    torch.manual_seed(0)
    attn = DaViTWindowMSA(8, (3, 3), 2).eval()
    x = torch.rand(4, 9, 8)
    mask = -100 * (torch.rand(2, 9, 9) > 0.5).float() if masked else None
    with torch.no_grad():
        expected = attn(x, mask)
        swapped = FORWARD_OPS[DaViTWindowMSA].convert_from(attn)
        assert isinstance(swapped, SlimmableDaViTWindowMSA)
        assert swapped.splits_by_width and swapped.head_dims == 4
        assert torch.allclose(swapped(x, mask), expected, atol=1e-6)
    targets = traced_targets(swapped)
    assert 'chunk' in targets and 'module.proj' in targets
    assert swapped.active_heads() == 2
    assert type(swapped.to_static_op()) is HeadsDaViTWindowMSA


def test_channel_attention_computes_mmpretrain():
    torch.manual_seed(0)
    attn = ChannelAttention(8, num_heads=2, qkv_bias=True).eval()
    x = torch.rand(2, 25, 8)
    with torch.no_grad():
        expected = attn(x)
        swapped = FORWARD_OPS[ChannelAttention].convert_from(attn)
        assert isinstance(swapped, SlimmableChannelAttention)
        assert swapped.splits_by_width
        assert torch.allclose(swapped(x), expected, atol=1e-6)
    targets = traced_targets(swapped)
    assert 'chunk' in targets and 'module.proj' in targets
    static = swapped.to_static_op()
    assert type(static) is HeadsChannelAttention
    assert (static.num_heads, static.embed_dims) == (2, 8)


def reading_first(layer, channels):
    """``layer`` reading only its first ``channels`` inputs."""
    layer = copy.deepcopy(layer)
    layer.weight = torch.nn.Parameter(layer.weight[:, :channels].clone())
    layer.in_features = channels
    return layer


@pytest.mark.parametrize('whole,static,args', [
    (DaViTWindowMSA(4, (3, 3), 1), HeadsDaViTWindowMSA, ()),
    (ChannelAttention(4, num_heads=1), HeadsChannelAttention, ()),
])
def test_heads_need_not_span_the_tokens_features(whole, static, args):
    """One head of 4 features over tokens of 2 (DaViT-tiny's first stage
    at 0.25 keeps 24 token features and one head of 32): mmpretrain's
    attention of that head on the tokens padded with zero features."""
    torch.manual_seed(0)
    whole.eval()
    narrow = copy.deepcopy(whole)
    narrow.__class__ = static
    narrow.qkv = reading_first(whole.qkv, 2)
    x = torch.rand(2, 9, 2)
    padded = torch.cat((x, torch.zeros(2, 9, 2)), dim=-1)
    with torch.no_grad():
        assert torch.allclose(narrow(x, *args), whole(padded, *args),
                              atol=1e-6)


def test_downsample_computes_mmpretrain_and_runs_at_odd_channels():
    """mmpretrain's adaptive padding of the tokens does nothing where its
    forward runs; at 3 channels it would pad a fourth."""
    torch.manual_seed(0)
    down = DaViTDownSample(4, 8, norm_cfg=dict(type='LN')).eval()
    x = torch.rand(2, 16, 4)
    with torch.no_grad():
        expected, size = down(x, (4, 4))
        swapped = FORWARD_OPS[DaViTDownSample].convert_from(down)
        assert isinstance(swapped, SlimmableDaViTDownSample)
        out, out_size = swapped(x, (4, 4))
        assert torch.equal(out, expected) and out_size == size == (2, 2)
        odd = TokenDaViTDownSample(3, 8, norm_cfg=dict(type='LN'))
        assert odd(torch.rand(2, 16, 3), (4, 4))[0].shape == (2, 4, 8)
    assert type(swapped.to_static_op()) is TokenDaViTDownSample


def test_backbone_computes_mmpretrain_and_gives_its_widths_back():
    torch.manual_seed(0)
    backbone = DaViT(arch=dict(embed_dims=16, depths=[1, 1],
                               num_heads=[2, 4]),
                     window_size=4, out_indices=(0, 1))
    backbone.eval()  # DaViT's train() gives back None
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        expected = backbone(x)
        swapped = FORWARD_OPS[DaViT].convert_from(backbone)
        assert isinstance(swapped, SlimmableDaViT)
        for out, want in zip(swapped(x), expected):
            assert torch.equal(out, want)
    static = swapped.to_static_op()
    assert type(static) is DaViT and static.num_features == [16, 32]
