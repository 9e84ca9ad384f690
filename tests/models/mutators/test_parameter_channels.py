"""The channel tracer follows per-channel parameters multiplied into a
tensor (layer scales) or added to it (a module's own bias), and only
those."""
import torch
import torch.fx as fx
import torch.nn as nn

import pwkd_plugin  # noqa: F401  (compat fixes before mmrazor.models)
from pwkd_plugin.models.mutators import (SlimmableTeacherMutator,
                                         TeacherChannelAnalyzer)
from pwkd_plugin.models.mutators.parameter_channel_node import \
    per_channel_parameters


class Block(nn.Module):

    def __init__(self, channels=4):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)
        self.scale = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.shift = nn.Parameter(torch.zeros(channels, 1, 1))
        self.matrix = nn.Parameter(torch.ones(channels, channels))

    def forward(self, x):
        y = self.scale.unsqueeze(-1).unsqueeze(-1) * self.conv(x)
        y = y.mul(self.gamma) + self.shift
        return x + y * self.matrix.sum()


class Net(nn.Module):

    def __init__(self, block):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.block = block
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


class ScaledBlock(nn.Module):
    """A residual block whose branch is times a layer scale (PoolFormer's)."""

    def __init__(self, channels=4):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)
        self.scale = nn.Parameter(torch.ones(channels))

    def forward(self, x):
        return x + self.scale.unsqueeze(-1).unsqueeze(-1) * self.conv(x)


class ShiftedBlock(nn.Module):
    """A residual block whose branch adds a bias of the block's own (as
    BEiT's attention adds its q and v biases)."""

    def __init__(self, channels=4):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)
        self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return x + (self.conv(x) + self.shift.view(1, -1, 1, 1))


def test_only_per_channel_parameters_multiplied_or_added_are_found():
    model = Net(Block())
    graph = fx.symbolic_trace(model).graph
    found = per_channel_parameters(model, graph, lambda module: False)
    # Not the matrix (two channel dimensions).
    assert sorted(found.values()) == [('block.gamma', 4), ('block.scale', 4),
                                      ('block.shift', 4)]
    # A module whose own dynamic op slices its parameters keeps them.
    assert per_channel_parameters(model, graph, lambda module: True) == {}


def test_a_layer_scale_is_bound_to_the_channels_it_multiplies():
    """The stem, the block's convolution and its scale are one unit: the
    residual stream (mmrazor's tracer made the product an output of its
    graph, and left the stream whole)."""
    analyzer = TeacherChannelAnalyzer(
        demo_input=(1, 3, 8, 8), tracer_type='FxTracer')
    units = analyzer.analyze(Net(ScaledBlock()))
    names = [{
        channel['name']
        for channel in unit['channels']['output_related']
    } for unit in units.values()]
    assert len(names) == 1
    assert {'stem', 'block.conv', 'block.scale'} <= names[0]


def test_a_bias_is_bound_to_the_channels_it_is_added_to():
    """The stem, the block's convolution and its bias are one unit (without
    the rule the bias was a source of three channels of its own, and the
    stream was left whole)."""
    analyzer = TeacherChannelAnalyzer(
        demo_input=(1, 3, 8, 8), tracer_type='FxTracer')
    units = analyzer.analyze(Net(ShiftedBlock()))
    names = [{
        channel['name']
        for channel in unit['channels']['output_related']
    } for unit in units.values()]
    assert len(names) == 1
    assert {'stem', 'block.conv', 'block.shift'} <= names[0]


class PositionedStem(nn.Module):
    """A stem whose map is added a position embedding of one image,
    ``(1, C, H, W)`` (ViG's)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.pos_embed = nn.Parameter(torch.rand(1, 4, 8, 8))

    def forward(self, x):
        return self.stem(x) + self.pos_embed


class PositionedNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = PositionedStem()
        self.conv = nn.Conv2d(4, 4, 1)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        x = self.backbone(x)
        return self.head((x + self.conv(x)).mean((2, 3)))


def test_a_position_map_is_sliced_at_its_channels():
    """The embedding's dimension 1 is its channels: found, bound to the
    stem's and sliced with them at every width (as two dimensions longer
    than 1 it was no per-channel parameter, and the stream stayed whole)."""
    model = PositionedNet()
    graph = fx.symbolic_trace(model).graph
    assert list(per_channel_parameters(model, graph,
                                       lambda module: False).values()) == [
                                           ('backbone.pos_embed', 4)]
    full = model.backbone.pos_embed.detach().clone()
    mutator = SlimmableTeacherMutator(parse_cfg=dict(
        type='ChannelAnalyzer', demo_input=(1, 3, 8, 8),
        tracer_type='FxTracer'))
    mutator.prepare_from_supernet(model)
    assert mutator.whole_layers == []
    for width, kept in zip(mutator.widths, (1, 2, 3, 4)):
        mutator.set_width(width)
        assert torch.equal(model.backbone.pos_embed, full[:, :kept])
        assert model(torch.rand(1, 3, 8, 8)).shape == (1, 2)
