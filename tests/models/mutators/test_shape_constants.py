"""Sizes read from tensors are numbers to the channel tracer, and mmcv's
Conv2d wrapper is sliced as a convolution."""
import operator

import torch
import torch.nn as nn
from mmcv.cnn.bricks.wrappers import Conv2d as MMCVConv2d

from pwkd_plugin.models.mutators import SlimmableTeacherMutator
from pwkd_plugin.models.mutators.shape_constants import (fold_shape_sizes,
                                                        graph_values)
from pwkd_plugin.models.mutators.teacher_channel_analyzer import \
    TeacherChannelAnalyzer


class ReshapesBySize(nn.Module):
    """A conv whose output is pooled through a reshape by the sizes of the
    layer before it (EfficientFormer reshapes its last stage by the sizes
    of that stage's input), then classified."""

    def __init__(self, conv=nn.Conv2d):
        super().__init__()
        self.stem = conv(3, 8, 3, padding=1)
        self.conv = conv(8, 16, 3, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x).relu()
        batch, _, height, width = x.shape
        x = self.conv(x)
        tokens = x.reshape(batch, -1, height * width).transpose(1, 2)
        return self.fc(tokens.mean(1))


def traced_channels(model):
    """Every unit the tracer finds: (layer, is output, (start, end)) of each
    of its channels, and (layer, is output) of each."""
    analyzer = TeacherChannelAnalyzer(demo_input=(1, 3, 8, 8),
                                      tracer_type='FxTracer')
    units = []
    for unit in analyzer.analyze(model).values():
        channels = set()
        for kind in ('output_related', 'input_related'):
            for c in unit['channels'][kind]:
                channels.add((c['name'], kind == 'output_related'))
                channels.add((c['name'], kind == 'output_related',
                              (c['start'], c['end'])))
        units.append(channels)
    return units


def traced_units(model):
    return traced_channels(model)


def prepared_mutator(model):
    """A slimmable teacher mutator prepared on ``model`` (8x8 demo input),
    checked to leave no layer whole."""
    mutator = SlimmableTeacherMutator(parse_cfg=dict(
        type='ChannelAnalyzer', demo_input=(1, 3, 8, 8),
        tracer_type='FxTracer'))
    mutator.prepare_from_supernet(model)
    assert mutator.whole_layers == []
    return mutator


def test_a_reshape_by_the_sizes_of_another_layer_passes_its_channels():
    units = traced_units(ReshapesBySize())
    assert any({('conv', True), ('fc', False)} <= unit for unit in units)
    assert any({('stem', True), ('conv', False)} <= unit for unit in units)


def test_mmcv_conv2d_wrappers_are_sliced():
    units = traced_units(ReshapesBySize(conv=MMCVConv2d))
    assert any({('stem', True), ('conv', False)} <= unit for unit in units)
    assert any({('conv', True), ('fc', False)} <= unit for unit in units)


class ChecksSizes(ReshapesBySize):
    """Reshapes by its sizes after checking them."""

    def forward(self, x):
        x = self.conv(self.stem(x))
        batch, channels, height, width = x.shape
        torch._assert(x.size(1) == channels, 'channels')
        return x.reshape(batch, channels, height * width)


def test_sizes_and_their_checks_become_constants_of_the_graph():
    model = ChecksSizes()
    graph = torch.fx.symbolic_trace(model).graph
    fold_shape_sizes(graph,
                     graph_values(model, graph, dict(x=torch.rand(2, 3, 4, 5))))
    reshape = next(n for n in graph.nodes if n.target == 'reshape')
    assert reshape.args[1:] == (2, 16, 20)
    assert [n.op for n in graph.nodes] == [
        'placeholder', 'call_module', 'call_module', 'call_method', 'output']


class AddsMaskOfItsSizes(nn.Module):
    """Two linear layers over tokens, each output added to a mask built from
    the tokens' sizes alone (as Twins' locally-grouped attention masks its
    padded windows: ``torch.zeros`` of the size, a slice filled, compared,
    filled again)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 24)
        self.fc3 = nn.Linear(24, 10)

    @staticmethod
    def mask(x):
        mask = torch.zeros((1, x.shape[1], 1), device=x.device)
        mask[:, -2:, :].fill_(1)
        return mask.masked_fill(mask != 0, -1000.0)

    def forward(self, x):
        tokens = self.stem(x).flatten(2).transpose(1, 2)
        tokens = self.fc1(tokens) + self.mask(tokens)
        tokens = self.fc2(tokens) + self.mask(tokens)
        return self.fc3(tokens.mean(1))


def test_a_tensor_built_from_sizes_binds_no_channels():
    """Each mask is a constant of the graph: the layers it is added to
    keep units of their own (mmrazor's graph took each mask for a source of
    channels, binding both layers' outputs through it into one unit that
    its check drops)."""
    model = AddsMaskOfItsSizes()
    graph = torch.fx.symbolic_trace(model).graph
    values = graph_values(model, graph, dict(x=torch.rand(1, 3, 4, 4)))
    fold_shape_sizes(graph, values)
    adds = [n for n in graph.nodes if n.target is operator.add]
    assert [len(n.all_input_nodes) for n in adds] == [1, 1]
    assert not any(n.target in (torch.zeros, 'fill_', 'masked_fill')
                   for n in graph.nodes)
    units = traced_units(model)
    assert any({('fc1', True), ('fc2', False)} <= unit for unit in units)
    assert any({('fc2', True), ('fc3', False)} <= unit for unit in units)


class GathersNearest(nn.Module):
    """Each position takes the largest features of its two nearest
    positions by their features and a relative position (a k-NN graph of
    ViG's: distances by a matrix product, ``torch.topk``'s indices offset
    by the batch, the features gathered at them), convolved and added back.
    """

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Conv2d(8, 8, 1)
        self.head = nn.Linear(8, 10)
        self.relative = nn.Parameter(torch.rand(1, 64, 64),
                                     requires_grad=False)

    def forward(self, x):
        x = self.stem(x)
        b, c, h, w = x.shape
        nodes = x.reshape(b, c, h * w).transpose(1, 2)
        distance = -2 * torch.matmul(nodes, nodes.transpose(1, 2))
        distance += self.relative
        _, nearest = torch.topk(-distance, k=2)
        nearest = nearest + torch.arange(b).view(-1, 1, 1) * (h * w)
        gathered = nodes.reshape(b * h * w, -1)[nearest.view(-1), :]
        gathered = gathered.view(b, h * w, 2, c).amax(2)
        y = self.fc(gathered.transpose(1, 2).reshape(b, c, h, w))
        return self.head((x + y).mean((2, 3)))


def test_indices_computed_from_features_are_constants():
    """The neighbours' indices are a constant of the graph and the nodes
    that only computed them (the distances, the relative position added to
    them, ``torch.topk``) are dropped: the gathered features are the
    stem's channels, so the stem, ``fc`` and the head's input are one unit,
    every layer sliced (without the rule the tracer found no layer of the
    model it could slim)."""
    model = GathersNearest()
    graph = torch.fx.symbolic_trace(model).graph
    values = graph_values(model, graph, dict(x=torch.rand(1, 3, 8, 8)))
    fold_shape_sizes(graph, values)
    assert not any(n.target in (torch.matmul, torch.topk, 'relative')
                   for n in graph.nodes)
    units = traced_units(model)
    assert any({('stem', True), ('fc', False), ('fc', True),
                ('head', False)} <= unit for unit in units)
    mutator = prepared_mutator(model)
    mutator.set_width(0.5)
    assert model.fc.get_mutable_attr('in_channels').current_mask.sum() == 4
