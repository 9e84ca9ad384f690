"""T2T-ViT's tokens to the channel tracer: a map unfolded into patch
columns expands each channel into its kernel area, the position table is
added at the tokens' channels, and the norm over the unfolded image is the
image's."""
import functools

import torch
import torch.nn as nn
from mmrazor.registry import MODELS

from pwkd_plugin.testing.teacher_families import small_family

from .test_shape_constants import prepared_mutator, traced_channels


class SoftSplit(nn.Module):
    """Tokens of a conv stem, back to a map and unfolded into 3x3 patch
    columns (T2T's soft split: 8 channels into 72 columns), normalised
    (mmrazor's own fix of a channel count multiplied by a flatten reaches
    no norm: it expands the channels at the linear layer after it) and
    classified by a linear layer."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.unfold = nn.Unfold(kernel_size=3, stride=2, padding=1)
        self.norm = nn.LayerNorm(8 * 9)
        self.fc = nn.Linear(8 * 9, 10)

    def forward(self, x):
        x = self.stem(x)
        batch, channels, height, width = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        x = tokens.transpose(1, 2).reshape(batch, channels, height, width)
        return self.fc(self.norm(self.unfold(x).transpose(1, 2))).mean(1)


def test_an_unfold_expands_each_channel_into_its_kernel_area():
    units = traced_channels(SoftSplit())
    held = [unit for unit in units if ('stem', True) in unit]
    assert len(held) == 1 and {('norm', True, (0, 72)),
                               ('fc', False, (0, 72))} <= held[0], units


def test_the_columns_narrow_with_the_channels_they_unfold():
    model = SoftSplit()
    mutator = prepared_mutator(model)
    inputs = torch.rand(2, 3, 8, 8)
    for width, channels in zip(mutator.widths, (2, 4, 6, 8)):
        mutator.set_width(width)
        mask = model.fc.get_mutable_attr('in_channels').current_mask
        # channel c of the stem is columns 9c .. 9c + 8.
        assert mask.tolist() == [True] * 9 * channels + [False] * 9 * (
            8 - channels)
        stem = nn.Conv2d(3, channels, 3, padding=1)
        stem.weight.data = model.stem.weight[:channels].detach()
        stem.bias.data = model.stem.bias[:channels].detach()
        fc = nn.Linear(9 * channels, 10)
        fc.weight.data = model.fc.weight[:, :9 * channels].detach()
        fc.bias.data = model.fc.bias.detach()
        norm = nn.LayerNorm(9 * channels)
        norm.weight.data = model.norm.weight[:9 * channels].detach()
        norm.bias.data = model.norm.bias[:9 * channels].detach()
        with torch.no_grad():
            columns = model.unfold(stem(inputs)).transpose(1, 2)
            expected = fc(norm(columns)).mean(1)
            assert torch.allclose(model(inputs), expected, atol=1e-6)


@functools.lru_cache(maxsize=None)
def small_t2t():
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='SlimmableTeacher',
            architecture=dict(small_family('T2T-ViT'), _scope_='mmpretrain'),
            mutator=dict(
                type='SlimmableTeacherMutator',
                parse_cfg=dict(
                    type='ChannelAnalyzer',
                    demo_input=(1, 3, 32, 32),
                    tracer_type='FxTracer')))).eval()


def test_the_position_table_is_added_at_the_tokens_channels():
    model = small_t2t()
    units = [
        unit for unit in model.mutator.mutable_units
        if 'backbone.pos_embed' in {c.name for c in unit.output_related}
    ]
    assert len(units) == 1
    assert units[0].candidate_choices == [24, 48, 72, 96]
    inputs = torch.rand(2, 3, 32, 32)
    for width, channels in zip(model.mutator.widths, (24, 48, 72, 96)):
        static = model.static_architecture(width)
        assert static.backbone.pos_embed.shape == (1, 5, channels)
        table = model.architecture.backbone.pos_embed
        assert torch.equal(static.backbone.pos_embed, table[..., :channels])
        model.mutator.set_width(width)
        with torch.no_grad():
            assert torch.allclose(
                static(inputs, mode='tensor'),
                model(inputs, mode='tensor'),
                atol=1e-5), width


def test_the_norm_over_the_unfolded_image_keeps_the_image_channels():
    """attention1.ln1 normalises the image's 3 x 7 x 7 columns: it is the
    image's, not a layer left whole; the tokens-to-token FFNs narrow."""
    mutator = small_t2t().mutator
    assert mutator.whole_layers == []
    assert mutator._image_norms == {'backbone.tokens_to_token.attention1.ln1'}


def test_the_tokens_to_token_attentions_narrow_their_single_head():
    """Both tokens-to-token attentions have one head of ``token_dims`` (4)
    features: it narrows with the width (q, k and v, the value shortcut
    and the FFN after it), and the static copy is mmpretrain's attention
    of one head of that many features, scaled as one (its ``qk_scale``
    fixes the scale when built)."""
    model = small_t2t()
    t2t = model.architecture.backbone.tokens_to_token
    for width, features in zip(model.mutator.widths, (1, 2, 3, 4)):
        model.mutator.set_width(width)
        for attention in (t2t.attention1.attn, t2t.attention2.attn):
            mask = attention.qkv.get_mutable_attr('out_channels').current_mask
            assert mask.tolist() == ([True] * features + [False] *
                                     (4 - features)) * 3
        static = model.static_architecture(width).backbone.tokens_to_token
        for layer in (static.attention1, static.attention2):
            assert (layer.attn.num_heads, layer.attn.head_dims,
                    layer.attn.proj.out_features) == (1, features, features)
            assert layer.attn.scaled_dot_product_attention.keywords == {
                'scale': features**-0.5
            }
            assert layer.ffn.layers[0][0].in_features == features
        assert static.project.in_features == features * 9
    model.mutator.set_width(1.0)
