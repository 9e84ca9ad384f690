"""Attentions narrow by whole heads, the layers of their heads named by one
rule; LeViT's: every head keeps its key and value sizes and its own
attention biases, all units of an attention take the same head count, and
the narrow attention is mmpretrain's of fewer heads."""
import copy

import torch
from mmpretrain.models.backbones.levit import Attention, AttentionSubsample
from mmpretrain.models.utils import (ChannelMultiheadAttention,
                                     MultiheadAttention)

from pwkd_plugin.models.dynamic_ops import (HeadAttention,
                                            SlimmableLeViTAttention,
                                            SlimmableLeViTAttentionSubsample)
from pwkd_plugin.models.dynamic_ops.hornet import active_channels
from pwkd_plugin.models.mutators.head_channels import (head_channel_map,
                                                       head_layers)
from pwkd_plugin.testing.teacher_families import small_family
from .test_teacher_family_widths import build, built_family


def randomised(module):
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_(0, 0.5)
        for name, buffer in module.named_buffers():
            if 'running_var' in name:
                buffer.uniform_(0.5, 2)
            elif 'running_mean' in name:
                buffer.normal_()
    module.eval()  # LeViT's attentions' train() returns None
    return module


def narrow_copy(attention, heads):
    """mmpretrain's attention of ``heads`` heads holding the first heads'
    weights of ``attention`` (built anew, weights copied)."""
    size = 2 * attention.key_dim + attention.d
    narrow = Attention(16, attention.key_dim, heads, attn_ratio=2,
                       resolution=3)
    state = attention.state_dict()
    for name, value in narrow.state_dict().items():
        whole = state[name]
        if name.startswith('qkv.') and whole.dim():
            value.copy_(whole[:heads * size])
        elif name == 'proj.1.linear.weight':
            value.copy_(whole[:, :heads * attention.d])
        elif name == 'attention_biases':
            value.copy_(whole[:heads])
        else:
            value.copy_(whole)
    narrow.eval()
    return narrow


def test_the_core_of_the_first_heads_is_mmpretrains_attention_of_fewer():
    attention = randomised(Attention(16, 4, num_heads=4, attn_ratio=2,
                                     resolution=3))
    whole = copy.deepcopy(attention)
    slimmable = SlimmableLeViTAttention.convert_from(attention)
    assert isinstance(slimmable.core, HeadAttention)
    assert slimmable.head_channels() == [('qkv.linear', True, 16),
                                         ('proj.1.linear', False, 8)]
    x = torch.randn(2, 9, 16)
    with torch.no_grad():
        assert torch.allclose(slimmable(x), whole(x), atol=1e-6)
        for heads in (1, 2, 3):
            qkv = slimmable.qkv(x)[..., :heads * 16]
            out = slimmable.core(qkv, slimmable.biases())
            assert out.shape == (2, 9, heads * 8)
            narrow = narrow_copy(whole, heads)
            proj = narrow.proj(out)
            assert torch.allclose(proj, narrow(x), atol=1e-5), heads


def test_every_unit_of_an_attention_takes_the_same_whole_heads():
    model = built_family('LeViT')
    backbone = model.architecture.backbone
    attention = backbone.stages[0][0].block  # 2 heads of 8 + 8 + 16
    subsample = backbone.stages[1][0]  # 4 heads: k 8 + v 32, q 8
    assert type(attention) is SlimmableLeViTAttention
    assert type(subsample) is SlimmableLeViTAttentionSubsample
    expected = {0.25: (1, 1), 0.5: (1, 2), 0.75: (2, 3), 1.0: (2, 4)}
    for width, (heads, sub_heads) in expected.items():
        model.mutator.set_width(width)
        assert active_channels(attention.qkv.linear,
                               'out_features') == heads * 32
        assert active_channels(attention.proj[1].linear,
                               'in_features') == heads * 16
        assert active_channels(subsample.kv.linear,
                               'out_features') == sub_heads * 40
        assert active_channels(subsample.q[1].linear,
                               'out_features') == sub_heads * 8
        assert active_channels(subsample.proj[1].linear,
                               'in_features') == sub_heads * 32
        static = model.static_architecture(width).backbone
        narrow = static.stages[0][0].block
        assert type(narrow) is Attention and narrow.num_heads == heads
        assert narrow.attention_biases.shape[0] == heads
        assert torch.equal(narrow.attention_biases,
                           attention.attention_biases[:heads])
        assert narrow.ab.shape[0] == heads
        sub = static.stages[1][0]
        assert type(sub) is AttentionSubsample and sub.num_heads == sub_heads
        assert sub.dh == sub_heads * sub.d
        assert not hasattr(narrow, 'core') and not hasattr(sub, 'core')
    model.mutator.set_width(1.0)


def test_no_layer_of_levit_is_whole_and_biases_follow_the_heads():
    model = built_family('LeViT')
    assert model.mutator.whole_layers == []
    attention = model.architecture.backbone.stages[0][0].block
    torch.manual_seed(0)
    with torch.no_grad():
        attention.attention_biases.normal_()
    inputs = torch.rand(2, 3, 32, 32)
    for width in model.mutator.widths:
        static = model.static_architecture(width)
        model.mutator.set_width(width)
        with torch.no_grad():
            assert torch.allclose(static(inputs, mode='tensor'),
                                  model(inputs, mode='tensor'), atol=1e-5)
    model.mutator.set_width(1.0)


def test_levits_two_output_layers_behind_batch_norms_stay_whole():
    """LeViT's head with the distillation token: two BatchNorm1d + Linear
    pairs read the embedding; both linear layers keep their class outputs
    (the classifier's), their inputs and batch norms are sliced."""
    architecture = small_family('LeViT')
    architecture['head']['distillation'] = True
    model = build(architecture).eval()
    assert model.mutator.whole_layers == []
    model.mutator.set_width(0.25)
    head = model.architecture.head
    for pair in (head.head, head.head_dist):
        assert active_channels(pair.linear, 'in_features') == 12
        assert pair.bn.activated_channel_num() == 12
    model.mutator.set_width(1.0)


def test_one_rule_names_the_head_layers_of_every_traced_attention():
    """proj's inputs of mmpretrain's multi-head and cross-covariance
    attentions, LeViT's projections, and nothing of a module that merely
    has a proj."""
    model = torch.nn.ModuleDict(
        dict(mha=MultiheadAttention(24, 3),
             xca=ChannelMultiheadAttention(24, 4),
             levit=SlimmableLeViTAttention.convert_from(
                 Attention(16, 4, num_heads=4, attn_ratio=2, resolution=3)),
             other=torch.nn.Sequential()))
    model.other.proj = torch.nn.Linear(24, 24)
    assert head_layers(model.other) == []
    assert head_channel_map(model) == {
        ('mha.proj', False): (3, 8, 8, 'mha'),
        ('xca.proj', False): (4, 6, 6, 'xca'),
        ('levit.qkv.linear', True): (4, 16, 8, 'levit'),
        ('levit.proj.1.linear', False): (4, 8, 8, 'levit'),
    }
