"""EfficientFormer's ``AttentionWithBias`` and TinyViT's ``LeAttention``
as LeViT's: a :class:`HeadAttention` core behind head-major projections
whose units narrow by whole heads; the first heads are mmpretrain's
attention of fewer heads."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.efficientformer import AttentionWithBias
from mmpretrain.models.utils.attention import LeAttention

from pwkd_plugin.models.dynamic_ops import (FORWARD_OPS, HeadAttention,
                                            SlimmableAttentionWithBias,
                                            SlimmableLeAttention)
from ..mutators.test_head_channels import randomised


def efficientformer_attention(heads=4):
    """32 channels in ``heads`` heads of 8 keys and 16 values, on 2x2
    tokens."""
    return AttentionWithBias(32, num_heads=heads, key_dim=8, attn_ratio=2,
                             resolution=2)


def tinyvit_attention(heads=4):
    """The same sizes, the tokens normalised by its own LayerNorm first."""
    return LeAttention(32, 8, num_heads=heads, attn_ratio=2,
                       resolution=(2, 2))


def first_heads(whole, narrow, heads):
    """``narrow`` (``heads`` heads) holding the first heads of ``whole``."""
    rows = heads * (8 + 8 + 16)
    state = {}
    for name, value in whole.state_dict().items():
        if name.startswith('qkv.'):
            value = value[:rows]
        elif name == 'proj.weight':
            value = value[:, :heads * 16]
        elif name == 'attention_biases':
            value = value[:heads]
        state[name] = value
    narrow.load_state_dict(state, strict=False)
    narrow.eval()
    return narrow


@pytest.mark.parametrize('build,slimmable', [
    (efficientformer_attention, SlimmableAttentionWithBias),
    (tinyvit_attention, SlimmableLeAttention),
])
def test_the_first_heads_are_mmpretrains_attention_of_fewer(
        build, slimmable):
    whole = randomised(build())
    converted = FORWARD_OPS[type(whole)].convert_from(copy.deepcopy(whole))
    assert isinstance(converted, slimmable)
    assert isinstance(converted.core, HeadAttention)
    # q, k and v of a head are 8 + 8 + 16 outputs of qkv; proj reads 16.
    assert converted.head_channels() == [('qkv', True, 32),
                                         ('proj', False, 16)]
    x = torch.rand(2, 4, 32)
    with torch.no_grad():
        assert torch.allclose(converted(x), whole(x), atol=1e-6)
        tokens = converted.norm(x) if hasattr(converted, 'norm') else x
        for heads in (1, 2, 3):
            out = converted.core(
                converted.qkv(tokens)[..., :heads * 32], converted.biases())
            assert out.shape == (2, 4, heads * 16)
            out = F.linear(out, converted.proj.weight[:, :heads * 16],
                           converted.proj.bias)
            narrow = first_heads(whole, build(heads), heads)
            assert torch.allclose(out, narrow(x), atol=1e-5), heads


def test_the_heads_split_head_by_head_into_query_key_and_value():
    """qkv outputs are [q_0 k_0 v_0 q_1 k_1 v_1]: a head's output reads
    its own value features only."""
    core = HeadAttention(2, 2, 4, ('qkv', ), 1.)
    qkv = torch.zeros(1, 3, 2 * (2 + 2 + 4))
    qkv[..., 12:16] = 1.  # the value of head 1
    out = core(qkv, torch.zeros(2, 3, 3))
    assert out.shape == (1, 3, 8)
    assert torch.equal(out[..., :4], torch.zeros(1, 3, 4))
    assert torch.equal(out[..., 4:], torch.ones(1, 3, 4))


def test_the_static_op_is_mmpretrains_attention_of_the_active_heads():
    whole = randomised(efficientformer_attention())
    converted = FORWARD_OPS[AttentionWithBias].convert_from(
        copy.deepcopy(whole))
    # As the tracer's units leave it at the whole width: all 4 heads.
    static = converted.to_static_op()
    assert type(static) is AttentionWithBias and not hasattr(static, 'core')
    assert static.num_heads == 4 and static.dh == 64
    assert isinstance(static.attention_biases, nn.Parameter)
    x = torch.rand(2, 4, 32)
    static.eval()
    with torch.no_grad():
        assert torch.allclose(static(x), whole(x), atol=1e-6)
