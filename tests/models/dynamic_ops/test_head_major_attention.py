"""A head-major attention with per-head biases (EfficientFormer's
``AttentionWithBias``, TinyViT's ``LeAttention``) narrowed by whole
heads."""
import copy

import torch
import torch.nn as nn
from mmpretrain.models.backbones.efficientformer import AttentionWithBias
from mmpretrain.models.utils.attention import LeAttention
from mmrazor.models.mutables import (MutableChannelContainer,
                                     SquentialMutableChannel)

from pwkd_plugin.models.dynamic_ops import (DYNAMIC_OPS, TRACER_OPS,
                                            SlimmableAttentionWithBias,
                                            SlimmableLeAttention)
from pwkd_plugin.models.dynamic_ops.head_major_attention import \
    head_major_attention


def attention():
    """32 channels in 4 heads of 8 keys and 16 values, on 2x2 tokens, with
    biases that differ by head."""
    torch.manual_seed(0)
    module = AttentionWithBias(32, num_heads=4, key_dim=8, attn_ratio=2,
                               resolution=2)
    nn.init.normal_(module.attention_biases)
    module.eval()  # mmpretrain's train() returns None
    return module


def sliced(module, channels):
    """The slimmable attention with the embedding's first ``channels``
    active, as the embedding's channel unit registers them."""
    dynamic = DYNAMIC_OPS[type(module)].convert_from(module)
    channel = SquentialMutableChannel(32)
    channel.current_choice = channels
    container = MutableChannelContainer(32)
    container.register_mutable(channel, 0, 32)
    dynamic.register_mutable_attr('in_channels', container)
    dynamic.register_mutable_attr('out_channels', container)
    return dynamic, channel


def narrow_attention(whole, heads, channels):
    """mmpretrain's attention of the first ``heads`` heads reading and
    writing the first ``channels`` of the embedding, from ``whole``'s
    parameters."""
    narrow = AttentionWithBias(channels, num_heads=heads, key_dim=8,
                               attn_ratio=2, resolution=2)
    rows = heads * (8 + 8 + 16)
    narrow.qkv.weight.data = whole.qkv.weight[:rows, :channels].clone()
    narrow.qkv.bias.data = whole.qkv.bias[:rows].clone()
    narrow.proj.weight.data = whole.proj.weight[:channels, :heads * 16].clone()
    narrow.proj.bias.data = whole.proj.bias[:channels].clone()
    narrow.attention_biases.data = whole.attention_biases[:heads].clone()
    narrow.eval()
    return narrow


def test_the_embeddings_share_of_heads_is_kept_whole():
    """8, 16, 24 and 32 of the 32 channels keep 1, 2, 3 and 4 heads: qkv
    keeps 32 outputs a head (q, k and v of the head), proj 16 inputs a
    head, the biases a row a head; the output is the narrow attention's."""
    whole = attention()
    assert TRACER_OPS[AttentionWithBias] is SlimmableAttentionWithBias
    x = torch.rand(2, 4, 32)
    for channels, heads in ((8, 1), (16, 2), (24, 3), (32, 4)):
        dynamic, channel = sliced(copy.deepcopy(whole), channels)
        assert isinstance(dynamic, SlimmableAttentionWithBias)
        assert dynamic.active_heads() == heads
        narrow = narrow_attention(whole, heads, channels)
        expected = narrow(x[..., :channels])
        with torch.no_grad():
            assert torch.allclose(dynamic(x[..., :channels]), expected,
                                  atol=1e-6), channels
        channel.fix_chosen(channels)
        static = dynamic.to_static_op()
        static.eval()
        assert type(static) is AttentionWithBias
        assert static.num_heads == heads
        assert (static.qkv.in_features, static.qkv.out_features) == \
            (channels, heads * 32)
        assert (static.proj.in_features, static.proj.out_features) == \
            (heads * 16, channels)
        assert static.attention_biases.shape == (heads, 4)
        with torch.no_grad():
            assert torch.allclose(static(x[..., :channels]), expected,
                                  atol=1e-6), channels


def test_the_whole_width_is_mmpretrains_attention():
    whole = attention()
    x = torch.rand(2, 4, 32)
    expected = whole(x)
    dynamic, _ = sliced(copy.deepcopy(whole), 32)
    with torch.no_grad():
        assert torch.allclose(dynamic(x), expected, atol=1e-6)


def test_heads_are_split_into_keys_and_values_head_by_head():
    """qkv outputs are [q_0 k_0 v_0 q_1 k_1 v_1]: a head's output reads
    its own value features only."""
    qkv = torch.zeros(1, 3, 2 * (2 + 2 + 4))
    qkv[..., 12:16] = 1.  # the value of head 1
    out = head_major_attention(qkv, 2, 2, 4, 1., torch.zeros(2, 3, 3))
    assert out.shape == (1, 3, 8)
    assert torch.equal(out[..., :4], torch.zeros(1, 3, 4))
    assert torch.equal(out[..., 4:], torch.ones(1, 3, 4))


def test_tinyvits_attention_normalises_the_active_channels():
    """LeAttention (TinyViT) normalises the tokens by a LayerNorm of its
    own first: at 16 of 32 channels it keeps 2 of 4 heads and the norm's
    first 16 affine parameters, as the narrow LeAttention."""
    torch.manual_seed(0)
    whole = LeAttention(32, 8, num_heads=4, attn_ratio=1, resolution=(2, 2))
    for param in (whole.attention_biases, whole.norm.weight,
                  whole.norm.bias):
        nn.init.normal_(param)
    whole.eval()
    dynamic, channel = sliced(copy.deepcopy(whole), 16)
    assert isinstance(dynamic, SlimmableLeAttention)
    assert dynamic.sliced_layers == ('qkv', 'proj', 'norm')
    narrow = LeAttention(16, 8, num_heads=2, attn_ratio=1, resolution=(2, 2))
    narrow.load_state_dict({
        'norm.weight': whole.norm.weight[:16],
        'norm.bias': whole.norm.bias[:16],
        'qkv.weight': whole.qkv.weight[:48, :16],
        'qkv.bias': whole.qkv.bias[:48],
        'proj.weight': whole.proj.weight[:16, :16],
        'proj.bias': whole.proj.bias[:16],
        'attention_biases': whole.attention_biases[:2],
    })
    narrow.eval()
    x = torch.rand(2, 4, 16)
    with torch.no_grad():
        expected = narrow(x)
        assert torch.allclose(dynamic(x), expected, atol=1e-6)
        channel.fix_chosen(16)
        static = dynamic.to_static_op()
        static.eval()
        assert type(static) is LeAttention and static.norm.weight.numel() \
            == 16
        assert torch.allclose(static(x), expected, atol=1e-6)
