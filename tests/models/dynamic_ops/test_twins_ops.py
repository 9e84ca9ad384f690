"""Twins' position encoding and attentions in the forms the channel tracer
follows."""
import copy

import pytest
import torch
import torch.fx
from mmpretrain.models.backbones.twins import (GlobalSubsampledAttention,
                                               LocallyGroupedSelfAttention)
from mmpretrain.models.utils import ConditionalPositionEncoding

from pwkd_plugin.models.dynamic_ops import (
    FORWARD_OPS, SlimmableConditionalPositionEncoding,
    SlimmableGlobalSubsampledAttention, SlimmableLocallyGroupedSelfAttention)
from pwkd_plugin.models.dynamic_ops.locally_grouped_attention import \
    HeadsLocallyGroupedSelfAttention
from pwkd_plugin.models.dynamic_ops.subsampled_attention import \
    HeadsGlobalSubsampledAttention


class Calls(torch.nn.Module):
    """Calls a module on tokens of a 5x5 grid (torch.fx traces into it)."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x, (5, 5))


def traced_targets(module):
    return [node.target for node in
            torch.fx.symbolic_trace(Calls(module)).graph.nodes]


def test_position_encoding_computes_mmpretrain_and_traces_through():
    torch.manual_seed(0)
    peg = ConditionalPositionEncoding(8, 8).eval()
    x = torch.rand(2, 25, 8)
    with torch.no_grad():
        expected = peg(x, (5, 5))
        swapped = FORWARD_OPS[ConditionalPositionEncoding].convert_from(peg)
        assert isinstance(swapped, SlimmableConditionalPositionEncoding)
        assert torch.equal(swapped(x, (5, 5)), expected)
    assert 'module.proj' in traced_targets(swapped)
    assert type(swapped.to_static_op()) is ConditionalPositionEncoding


@pytest.mark.parametrize('window', [2, 5])
def test_locally_grouped_attention_computes_mmpretrain(window):
    """Windows of 2x2 on a 5x5 grid are padded (the mask counts), of 5x5
    not; q, k and v are split from ``qkv`` along its features."""
    torch.manual_seed(0)
    attn = LocallyGroupedSelfAttention(8, 2, qkv_bias=True,
                                       window_size=window).eval()
    x = torch.rand(2, 25, 8)
    with torch.no_grad():
        expected = attn(x, (5, 5))
        swapped = FORWARD_OPS[LocallyGroupedSelfAttention].convert_from(attn)
        assert isinstance(swapped, SlimmableLocallyGroupedSelfAttention)
        assert swapped.splits_by_width and swapped.head_dims == 4
        assert torch.allclose(swapped(x, (5, 5)), expected, atol=1e-6)
    targets = traced_targets(swapped)
    assert 'chunk' in targets and 'module.proj' in targets
    assert swapped.active_heads() == 2
    assert type(swapped.to_static_op()) is HeadsLocallyGroupedSelfAttention


@pytest.mark.parametrize('sr_ratio', [1, 2])
def test_subsampled_attention_computes_mmpretrain(sr_ratio):
    torch.manual_seed(0)
    attn = GlobalSubsampledAttention(8, 2, sr_ratio=sr_ratio).eval()
    x = torch.rand(2, 25, 8)
    with torch.no_grad():
        expected = attn(x, (5, 5))
        swapped = FORWARD_OPS[GlobalSubsampledAttention].convert_from(attn)
        assert isinstance(swapped, SlimmableGlobalSubsampledAttention)
        assert swapped.splits_by_width
        assert torch.allclose(swapped(x, (5, 5)), expected, atol=1e-6)
    targets = traced_targets(swapped)
    assert 'chunk' in targets and 'module.proj' in targets
    assert ('module.sr.weight' in targets) == (sr_ratio > 1)
    static = swapped.to_static_op()
    assert type(static) is HeadsGlobalSubsampledAttention
    assert (static.num_heads, static.embed_dims, static.input_dims) == (2, 8,
                                                                        8)


def reading_first(layer, channels):
    """``layer`` reading only its first ``channels`` inputs."""
    layer = copy.deepcopy(layer)
    layer.weight = torch.nn.Parameter(layer.weight[:, :channels].clone())
    if isinstance(layer, torch.nn.Linear):
        layer.in_features = channels
    else:
        layer.in_channels = channels
    return layer


@pytest.mark.parametrize('whole,static,readers', [
    (GlobalSubsampledAttention(4, 1, sr_ratio=2),
     HeadsGlobalSubsampledAttention, ('q', 'sr')),
    (LocallyGroupedSelfAttention(4, 1, window_size=2),
     HeadsLocallyGroupedSelfAttention, ('qkv', )),
])
def test_heads_need_not_span_the_tokens_features(whole, static, readers):
    """One head of 4 features over tokens of 2 (a stage at a width where
    its heads round up: Twins-SVT-S's first stage at 0.25 keeps 16 token
    features and one head of 32): mmpretrain's attention of that head on
    the tokens padded with zero features."""
    torch.manual_seed(0)
    whole.eval()
    narrow = copy.deepcopy(whole)
    narrow.__class__ = static
    for name in readers:
        setattr(narrow, name, reading_first(getattr(whole, name), 2))
    x = torch.rand(2, 25, 2)
    padded = torch.cat((x, torch.zeros(2, 25, 2)), dim=-1)
    with torch.no_grad():
        assert torch.allclose(narrow(x, (5, 5)), whole(padded, (5, 5)),
                              atol=1e-6)
