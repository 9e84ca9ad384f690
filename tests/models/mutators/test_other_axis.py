"""Linear layers along another axis than the channels (MLP-Mixer's token
mixing, between two transposes): the channels pass the bracket, the other
axis (the tokens) is never narrowed, the features inside are a width."""
import pytest
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from pwkd_plugin.models.mutators.other_axis import other_axis_brackets
from pwkd_plugin.models.mutators.shape_constants import graph_values

from .test_shape_constants import prepared_mutator

TOKENS, CHANNELS, TOKEN_FEATURES, CHANNEL_FEATURES = 16, 12, 8, 24


class TokenMixer(nn.Module):
    """A mixer block in small: 16 patch tokens of 12 channels (an 8x8
    input, patches of 2x2), tokens mixed by an FFN of 8 features over the
    transposed tokens, channels by an FFN of 24, pooled and classified."""

    def __init__(self, channels=CHANNELS):
        super().__init__()
        self.patches = nn.Conv2d(3, channels, 2, stride=2)
        self.norm1 = nn.LayerNorm(channels)
        self.tokens = nn.Sequential(
            nn.Linear(TOKENS, TOKEN_FEATURES), nn.GELU(), nn.Dropout(0.),
            nn.Linear(TOKEN_FEATURES, TOKENS))
        self.norm2 = nn.LayerNorm(channels)
        self.channels = nn.Sequential(
            nn.Linear(channels, CHANNEL_FEATURES), nn.GELU(),
            nn.Linear(CHANNEL_FEATURES, channels))
        self.fc = nn.Linear(channels, 10)

    def mix_tokens(self, x):
        return self.tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)

    def forward(self, x):
        x = self.patches(x).flatten(2).transpose(1, 2)
        x = x + self.mix_tokens(x)
        x = x + self.channels(self.norm2(x))
        return self.fc(x.mean(1))


class PermutedTokenMixer(TokenMixer):
    """The same block, its tokens brought last by a permute and back by
    ``torch.transpose`` of negative dims."""

    def mix_tokens(self, x):
        tokens = self.tokens(self.norm1(x).permute(0, 2, 1))
        return torch.transpose(tokens, -1, -2)


class ChannelsLast(TokenMixer):
    """ConvNeXt's way: a map permuted to put its channels last, linear
    layers over them, permuted back."""

    def __init__(self):
        super().__init__()
        self.pointwise = nn.Sequential(
            nn.Linear(CHANNELS, CHANNEL_FEATURES), nn.GELU(),
            nn.Linear(CHANNEL_FEATURES, CHANNELS))

    def forward(self, x):
        x = self.patches(x)
        x = x + self.pointwise(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.fc(x.mean((2, 3)))


class NormOverChannelsBetween(TokenMixer):
    """A batch norm over the transposed tensor's channels between the
    transposes: not a layer along the last axis."""

    def __init__(self):
        super().__init__()
        self.tokens.insert(2, nn.BatchNorm1d(CHANNELS))


class NotTransposedBack(TokenMixer):
    """Tokens mixed, then read as they are (no transpose back)."""

    def forward(self, x):
        x = self.patches(x).flatten(2).transpose(1, 2)
        tokens = self.tokens(self.norm1(x).transpose(1, 2))
        return self.fc(tokens.mean(2) + x.mean(1))


def brackets(model):
    graph = fx.symbolic_trace(model).graph
    values = graph_values(model, graph, dict(x=torch.rand(1, 3, 8, 8)))
    return other_axis_brackets(model, graph, values)


def test_a_linear_ffn_over_the_transposed_tokens_is_a_bracket():
    # The layer writing the tokens (the FFN's last) is named, so that its
    # output, kept whole, is not a layer the tracer lost.
    assert brackets(TokenMixer()) == {
        'transpose_1': ('transpose_2', TOKENS, ('tokens.3', ))
    }
    assert brackets(PermutedTokenMixer()) == {
        'permute': ('transpose_1', TOKENS, ('tokens.3', ))
    }


@pytest.mark.parametrize('kind',
                         [ChannelsLast, NormOverChannelsBetween,
                          NotTransposedBack])
def test_other_transposes_are_no_brackets(kind):
    assert brackets(kind()) == {}


# As many channels as tokens (16): the tokens are told apart by where the
# transpose puts them, not by their count.
@pytest.mark.parametrize('channel_counts', [(3, 6, 9, 12), (4, 8, 12, 16)])
def test_tokens_stay_whole_and_channels_and_features_narrow(channel_counts):
    torch.manual_seed(0)
    model = TokenMixer(channel_counts[-1])
    mutator = prepared_mutator(model)
    inputs = torch.rand(2, 3, 8, 8)
    for width, channels, features, hidden in zip(mutator.widths,
                                                 channel_counts, (2, 4, 6, 8),
                                                 (6, 12, 18, 24)):
        mutator.set_width(width)
        first, last = model.tokens[0], model.tokens[3]
        assert first.get_mutable_attr('in_channels') is None or all(
            first.get_mutable_attr('in_channels').current_mask)
        assert first.get_mutable_attr(
            'out_channels').current_mask.sum() == features
        assert last.get_mutable_attr(
            'in_channels').current_mask.sum() == features
        assert last.get_mutable_attr('out_channels') is None or all(
            last.get_mutable_attr('out_channels').current_mask)
        assert model.norm1.get_mutable_attr(
            'num_features').current_mask.sum() == channels
        with torch.no_grad():
            x = F.conv2d(inputs, model.patches.weight[:channels],
                         model.patches.bias[:channels], stride=2)
            x = x.flatten(2).transpose(1, 2)
            y = F.layer_norm(x, (channels, ), model.norm1.weight[:channels],
                             model.norm1.bias[:channels])
            y = F.linear(y.transpose(1, 2), first.weight[:features],
                         first.bias[:features])
            y = F.linear(F.gelu(y), last.weight[:, :features], last.bias)
            x = x + y.transpose(1, 2)
            y = F.layer_norm(x, (channels, ), model.norm2.weight[:channels],
                             model.norm2.bias[:channels])
            y = F.linear(y, model.channels[0].weight[:hidden, :channels],
                         model.channels[0].bias[:hidden])
            y = F.linear(F.gelu(y),
                         model.channels[2].weight[:channels, :hidden],
                         model.channels[2].bias[:channels])
            x = (x + y).mean(1)
            expected = F.linear(x, model.fc.weight[:, :channels],
                                model.fc.bias)
            assert torch.allclose(model(inputs), expected, atol=1e-6), width
