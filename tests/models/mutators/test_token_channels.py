"""The tracer's rules for a vision transformer's tokens and embedding.

A concatenation along the tokens binds its inputs' channels (one along a
map's channels still concatenates them), the class / distillation tokens
and position embedding follow the embedding's unit, the embedding narrows
by whole heads of the attentions it feeds, and a layer the forward never
runs (DeiT III's ``ln2``) follows its run sibling.
"""
import pytest
import torch
import torch.fx as fx
import torch.nn as nn
from mmpretrain.models.utils.attention import MultiheadAttention
from mmrazor.registry import MODELS

import pwkd_plugin  # noqa: F401
from pwkd_plugin.models.dynamic_ops import SlimmableMultiheadAttention
from pwkd_plugin.models.mutators.head_channels import head_layers
from pwkd_plugin.models.mutators.shape_constants import graph_values
from pwkd_plugin.models.mutators.token_cat import token_cats
from pwkd_plugin.models.mutators.unused_layers import unused_modules
from pwkd_plugin.testing.transformer_families import small_transformer

WIDTHS = (0.25, 0.5, 0.75, 1.0)
#: embed 32 in 4 heads of 8: one head more per width.
EMBED = [8, 16, 24, 32]


class TwoCats(nn.Module):

    def __init__(self):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, 6))

    def forward(self, x):
        maps = torch.cat((x, x), dim=1)  # (1, 12, 2, 2): channels
        tokens = maps.flatten(2).transpose(1, 2)[..., :6]  # (1, 4, 6)
        return torch.cat((self.token.expand(1, -1, -1), tokens), dim=1)


def test_a_cat_along_tokens_binds_and_one_along_channels_does_not():
    model = TwoCats()
    graph = fx.symbolic_trace(model).graph
    values = graph_values(model, graph, dict(x=torch.rand(1, 6, 2, 2)))
    cats = [node.name for node in graph.nodes if node.target is torch.cat]
    assert token_cats(graph, values) == {cats[1]}


def teacher(name):
    config = dict(
        type='SlimmableTeacher',
        architecture=dict(small_transformer(name), _scope_='mmpretrain'),
        mutator=dict(
            type='SlimmableTeacherMutator',
            parse_cfg=dict(
                type='ChannelAnalyzer',
                demo_input=(1, 3, 32, 32),
                tracer_type='FxTracer')))
    torch.manual_seed(0)
    return MODELS.build(config)


def stream_unit(model):
    """The traced unit holding the backbone's tokens."""
    units = [
        unit for unit in model.mutator.mutable_units
        if 'backbone' in
        {channel.name for channel in unit.output_related}
    ]
    assert len(units) == 1
    return units[0]


@pytest.mark.parametrize('name', ['DeiT', 'DeiT3'])
def test_tokens_and_embedding_follow_whole_heads(name):
    """Without the token rules the stream (patch embedding, norms, qkv
    inputs, projections' outputs, head inputs) was whole; without the qkv
    heads rule it narrowed to 8, 16, 24, 32 only by chance of rounding."""
    model = teacher(name)
    unit = stream_unit(model)
    names = {channel.name for channel in unit.output_related} | \
        {channel.name for channel in unit.input_related}
    assert {'backbone.patch_embed.projection',
            'backbone.layers.0.attn.qkv',
            'backbone.layers.1.ffn.layers.1',
            'backbone.layers.1.ln1'} <= names
    assert unit.candidate_choices == EMBED
    assert model.mutator.whole_layers == []
    backbone = model.architecture.backbone
    tokens = [name for name in ('cls_token', 'dist_token', 'pos_embed')
              if backbone._parameters.get(name) is not None]
    for width, embed in zip(WIDTHS, EMBED):
        model.mutator.set_width(width)
        for token in tokens:
            assert getattr(backbone, token).shape[-1] == embed
        # DeiT III runs ln1 before the FFN too: ln2 follows it.
        for layer in backbone.layers:
            assert layer.ln2.active_features() == embed
    model.mutator.set_width(1.0)


class Spare(nn.Module):

    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 4)
        self.spare = nn.LayerNorm(4)

    def forward(self, x):
        return self.used(x)


def test_unused_modules_are_those_the_forward_skips():
    assert unused_modules(Spare(), (2, 4), (nn.Linear, nn.LayerNorm)) == \
        ['spare']


def test_qkv_inputs_are_whole_heads_where_the_input_is_the_heads():
    attention = SlimmableMultiheadAttention.convert_from(
        MultiheadAttention(24, 3))
    assert head_layers(attention) == [('proj', False, 8), ('qkv', False, 8)]
    other = SlimmableMultiheadAttention.convert_from(
        MultiheadAttention(24, 3, input_dims=16))
    assert head_layers(other) == [('proj', False, 8)]
    assert head_layers(MultiheadAttention(24, 3)) == [('proj', False, 8)]
