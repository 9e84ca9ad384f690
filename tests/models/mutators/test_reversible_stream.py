"""A reversible stream (RevViT's): tokens concatenated with themselves,
chunked into two halves that a layer adds to in turn, concatenated again.
The tracer concatenates a tensor listed twice twice, gives each chunk its
run of the channels, and traces into a module the forward builds; the
halves narrow together, each keeping its first channels."""
import pytest
import torch
import torch.nn as nn
from mmcv.cnn.bricks.drop import build_dropout

from pwkd_plugin.models.mutators.chunked_channels import (
    chunk_pieces, stacked_chunk_reductions)
from pwkd_plugin.models.mutators.repeated_cat import repeated_cats
from pwkd_plugin.models.mutators.shape_constants import graph_values
from pwkd_plugin.models.mutators.teacher_channel_analyzer import \
    ForwardOpsTracer

from .test_shape_constants import prepared_mutator, traced_channels

CHANNELS, FEATURES = 12, 24


class ReversibleStream(nn.Module):
    """16 patch tokens of 12 channels (an 8x8 input, patches of 2x2)
    doubled into a stream of two halves; ``y1 = x1 + f(x2)``, ``y2 = x2 +
    g(y1)`` (f a norm and a linear layer, g an FFN of 24 features, each
    through a drop path built in the forward, as RevViT's layer does);
    the halves concatenated, normed, pooled and classified."""

    #: the head reads both halves concatenated.
    streams = 2

    def __init__(self):
        super().__init__()
        self.patches = nn.Conv2d(3, CHANNELS, 2, stride=2)
        self.norm_f = nn.LayerNorm(CHANNELS)
        self.f = nn.Linear(CHANNELS, CHANNELS)
        self.norm_g = nn.LayerNorm(CHANNELS)
        self.g = nn.Sequential(nn.Linear(CHANNELS, FEATURES), nn.GELU(),
                               nn.Linear(FEATURES, CHANNELS))
        self.norm = nn.LayerNorm(2 * CHANNELS)
        self.fc = nn.Linear(self.streams * CHANNELS, 10)

    def fuse(self, x):
        return x

    def stream(self, x):
        x = self.patches(x).flatten(2).transpose(1, 2)
        return torch.cat([x, x], dim=-1)

    def forward(self, x):
        x1, x2 = torch.chunk(self.stream(x), 2, dim=-1)
        drop = build_dropout(dict(type='DropPath', drop_prob=0.))
        y1 = x1 + drop(self.f(self.norm_f(x2)))
        y2 = x2 + build_dropout(dict(type='DropPath', drop_prob=0.))(self.g(
            self.norm_g(y1)))
        x = self.norm(torch.cat([y1, y2], dim=-1))
        return self.fc(self.fuse(x).mean(1))


class MeanOfStreams(ReversibleStream):
    """The halves averaged (RevViT's ``fusion_mode='avg'``)."""
    streams = 1

    def fuse(self, x):
        return torch.stack(torch.chunk(x, 2, dim=2)).mean(dim=0)


class MaxOfStreams(MeanOfStreams):
    """Their maximum (``fusion_mode='max'``)."""

    def fuse(self, x):
        return torch.stack(torch.chunk(x, 2, dim=2)).max(dim=0).values


class BuildsLinear(ReversibleStream):
    """Builds a layer holding weights in its forward."""

    def forward(self, x):
        return nn.Linear(3, 3)(x.transpose(1, 3)).transpose(1, 3)


def trace(model):
    """The graph of ``model`` by the plugin's tracer (sizes read on an
    8x8 input, so the chunks unpack)."""
    tracer = ForwardOpsTracer()
    tracer.set_demo_inputs(model, dict(x=torch.rand(1, 3, 8, 8)))
    return tracer.trace(model)


def test_a_parameter_free_module_built_in_the_forward_is_traced_into():
    graph = trace(ReversibleStream())
    assert not any(node.target == 'forward' for node in graph.nodes)
    assert {node.target
            for node in graph.nodes if node.op == 'call_module'} == {
                'patches', 'norm_f', 'f', 'norm_g', 'g.0', 'g.1', 'g.2',
                'norm', 'fc'
            }
    # One holding weights stays a call the graph cannot name: it fails.
    with pytest.raises(NameError):
        trace(BuildsLinear())


class UnequalChunks(ReversibleStream):
    """13 channels chunked in two (7 and 6)."""

    def __init__(self):
        super().__init__()
        self.patches = nn.Conv2d(3, 13, 2, stride=2)

    def forward(self, x):
        x = self.patches(x).flatten(2).transpose(1, 2)
        x1, x2 = torch.chunk(x, 2, dim=-1)
        return x1.mean() + x2.mean()


class TokenChunks(ReversibleStream):
    """The tokens chunked in two, the channels whole."""

    def forward(self, x):
        x = self.patches(x).flatten(2).transpose(1, 2)
        x1, x2 = x.chunk(2, dim=1)
        return self.f(x1 + x2).mean(1)


def graph_of(model):
    graph = trace(model)
    return graph, graph_values(model, graph, dict(x=torch.rand(1, 3, 8, 8)))


def test_chunks_into_equal_runs_of_the_channels_are_found():
    graph, values = graph_of(ReversibleStream())
    assert chunk_pieces(graph, values) == {
        'chunk': {
            'getitem': (0, CHANNELS, 2 * CHANNELS),
            'getitem_1': (CHANNELS, 2 * CHANNELS, 2 * CHANNELS)
        }
    }
    # Pieces another rule gave their runs are left to it.
    assert chunk_pieces(graph, values, {'getitem'}) == {}
    for other in (UnequalChunks(), TokenChunks()):
        assert chunk_pieces(*graph_of(other)) == {}


def test_a_stack_of_chunks_reduced_over_the_stack_is_found():
    assert stacked_chunk_reductions(*graph_of(MeanOfStreams())) == {
        'mean': (2, CHANNELS)
    }
    assert stacked_chunk_reductions(*graph_of(MaxOfStreams())) == {
        'max_1': (2, CHANNELS)
    }
    assert stacked_chunk_reductions(*graph_of(ReversibleStream())) == {}


def test_a_tensor_concatenated_with_itself_is_listed_twice():
    graph, _ = graph_of(ReversibleStream())
    assert repeated_cats(graph) == {'cat': ('transpose', 'transpose')}


def test_the_stream_is_one_unit_read_in_both_halves():
    units = traced_channels(ReversibleStream())
    halves = {(0, CHANNELS), (CHANNELS, 2 * CHANNELS)}
    assert any({('patches', True, (0, CHANNELS)), ('f', True, (
        0, CHANNELS)), ('norm_f', False,
                        (0, CHANNELS)), ('g.2', True, (0, CHANNELS)), *(
                            ('norm', False, half)
                            for half in halves), *(('fc', False, half)
                                                   for half in halves)} <= unit
               for unit in units), units


def narrow_forward(model, channels, features, inputs):
    """The stream of ``channels`` channels (the first of each half) with
    an FFN of ``features``, by hand from the model's weights."""
    keep = list(range(channels))
    both = keep + [CHANNELS + c for c in keep]
    f = nn.functional

    def linear(layer, rows, cols):
        bias = layer.bias[rows]
        return lambda x: f.linear(x, layer.weight[rows][:, cols], bias)

    def norm(layer, kept):
        return lambda x: f.layer_norm(x, (len(kept), ), layer.weight[kept],
                                      layer.bias[kept], layer.eps)

    x = f.conv2d(inputs,
                 model.patches.weight[keep],
                 model.patches.bias[keep],
                 stride=2)
    x = x.flatten(2).transpose(1, 2)
    hidden = list(range(features))
    y1 = x + linear(model.f, keep, keep)(norm(model.norm_f, keep)(x))
    g = norm(model.norm_g, keep)(y1)
    g = linear(model.g[2], keep,
               hidden)(f.gelu(linear(model.g[0], hidden, keep)(g)))
    y2 = x + g
    x = norm(model.norm, both)(torch.cat([y1, y2], dim=-1))
    reads = both if model.streams == 2 else keep
    return linear(model.fc, list(range(10)), reads)(model.fuse(x).mean(1))


@pytest.mark.parametrize('kind',
                         [ReversibleStream, MeanOfStreams, MaxOfStreams])
def test_the_halves_narrow_together_keeping_their_first_channels(kind):
    """Every width keeps the first channels of each half in the final
    norm (and in the head, or the first channels of the fused halves),
    the same count as the embedding, and computes the stream narrowed by
    hand."""
    torch.manual_seed(0)
    model = kind().eval()
    with torch.no_grad():
        for param in model.parameters():
            param.mul_(1 + 0.5 * torch.randn_like(param))
    mutator = prepared_mutator(model)
    inputs = torch.rand(2, 3, 8, 8)
    for width, channels, features in zip(mutator.widths, (3, 6, 9, 12),
                                         (6, 12, 18, 24)):
        mutator.set_width(width)
        mask = [True] * channels + [False] * (CHANNELS - channels)
        assert model.fc.get_mutable_attr(
            'in_channels').current_mask.tolist() == mask * model.streams
        assert model.norm.get_mutable_attr(
            'num_features').current_mask.tolist() == mask * 2
        assert model.patches.get_mutable_attr(
            'out_channels').current_mask.tolist() == mask
        with torch.no_grad():
            assert torch.allclose(model(inputs),
                                  narrow_forward(model, channels, features,
                                                 inputs),
                                  atol=1e-6), width
