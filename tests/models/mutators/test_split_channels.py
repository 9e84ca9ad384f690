"""A tensor split along its channels: each piece takes its own run of the
split tensor's channels in the channel tracer's graph."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from pwkd_plugin.models.dynamic_ops.hornet import active_channels
from pwkd_plugin.models.mutators import SlimmableTeacherMutator
from .test_shape_constants import prepared_mutator, traced_channels


class GatesByPieces(nn.Module):
    """HorNet's pattern: a projection split into pieces, one piece gating
    another, each read by its own layer; the pieces' sizes are those of the
    layers they feed (as ``SlimmableGnConv`` splits), so narrower widths
    run and the tracer's check keeps the units."""

    splits_by_width = True

    def __init__(self):
        super().__init__()
        self.proj_in = nn.Conv2d(3, 4 + 4 + 8, 1)
        self.dw = nn.Conv2d(12, 12, 3, padding=1, groups=12)
        self.proj = nn.Conv2d(4, 8, 1)
        self.proj_out = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        first = active_channels(self.proj, 'in_channels')
        second = active_channels(self.proj, 'out_channels')
        y, x = torch.split(self.proj_in(x), (first, first + second), dim=1)
        first, second = self.dw(x).split([first, second], 1)
        return self.proj_out(self.proj(y * first) * second)


def test_each_piece_of_a_split_has_its_own_channels():
    units = traced_channels(GatesByPieces())
    # One unit: the first piece of the projection, the first piece of what
    # the depthwise conv gives, and the layer that reads their product.
    first = next(unit for unit in units if ('proj', False) in unit)
    assert {('proj_in', True, (0, 4)), ('proj_in', True, (4, 8)),
            ('dw', True, (0, 4))} <= first
    second = next(unit for unit in units if ('proj_out', False) in unit)
    assert {('proj_in', True, (8, 16)), ('dw', True, (4, 12)),
            ('proj', True, (0, 8))} <= second
    assert all(('proj_in', True, (0, 16)) not in unit for unit in units)


class SplitsByFixedSizes(GatesByPieces):
    """The same split by sizes fixed when it is built (Res2Net's way)."""

    splits_by_width = False


def test_a_split_by_fixed_sizes_is_not_followed():
    units = traced_channels(SplitsByFixedSizes())
    assert not any(('proj_in', True, (0, 4)) in unit for unit in units)


class AddsPiecesInTurn(nn.Module):
    """EdgeNeXt's SDTA pattern: chunks of 4, 4 and 3 channels (the first
    two of its convolutions' widths), the second added to the first's
    convolution, the last passed on beside them."""

    splits_by_width = True

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 11, 1)
        self.convs = nn.ModuleList(
            nn.Conv2d(4, 4, 3, padding=1, groups=4) for _ in range(2))
        self.head = nn.Conv2d(11, 5, 1)

    def forward(self, x):
        x = self.stem(x)
        conv = active_channels(self.convs[0], 'in_channels')
        first, second, rest = torch.split(
            x, [conv, conv, x.shape[1] - 2 * conv], dim=1)
        out = self.convs[0](first)
        out = torch.cat((out, self.convs[1](out + second)), 1)
        return self.head(torch.cat((out, rest), 1) + x)


def test_pieces_bound_to_each_other_are_one_unit_the_rest_another():
    units = traced_channels(AddsPiecesInTurn())
    # The chunks added together (the stem's channels 0-4 and 4-8) are one
    # unit of 4 channels; the chunk beside them (8-11) one of 3 (mmrazor
    # told them apart by the tensors their channels are in, which the
    # pieces shared with the split tensor: one unit of 0-4 and 4-11).
    added = next(u for u in units if ('stem', True, (0, 4)) in u)
    assert {('stem', True, (4, 8)), ('head', False, (0, 4)),
            ('head', False, (4, 8)), ('convs.1', True, (0, 4))} <= added
    rest = next(u for u in units if ('stem', True, (8, 11)) in u)
    assert ('head', False, (8, 11)) in rest and ('stem', True, (4, 11)) \
        not in rest


class ScalesInTurn(nn.Module):
    """Res2Net's pattern: a projection split into 3 equal runs of its
    active channels over 3 (as ``SlimmableBottle2neck`` splits), each run
    after the first added to the convolution of the one before, the last
    passed on beside them."""

    splits_by_width = True

    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, 12, 1)
        self.convs = nn.ModuleList(
            nn.Conv2d(4, 4, 3, padding=1) for _ in range(2))
        self.head = nn.Linear(12, 5)

    def forward(self, x):
        width = active_channels(self.proj, 'out_channels') // 3
        runs = torch.split(self.proj(x), width, 1)
        first = self.convs[0](runs[0]).relu()
        second = self.convs[1](first + runs[1]).relu()
        return self.head(torch.cat((first, second, runs[2]), 1).mean((2, 3)))


def narrowed_scales(model, kept, x):
    """``ScalesInTurn`` by hand with the first ``kept`` channels of each
    run."""
    index = [run * 4 + channel for run in range(3) for channel in range(kept)]
    proj = F.conv2d(x, model.proj.weight[index], model.proj.bias[index])
    runs = proj.split(kept, 1)
    convs = [(conv.weight[:kept, :kept], conv.bias[:kept])
             for conv in model.convs]
    first = F.conv2d(runs[0], *convs[0], padding=1).relu()
    second = F.conv2d(first + runs[1], *convs[1], padding=1).relu()
    return F.linear(torch.cat((first, second, runs[2]), 1).mean((2, 3)),
                    model.head.weight[:, index], model.head.bias)


def test_equal_runs_of_a_split_narrow_together():
    """Each run keeps its first channels, all runs the same count: the
    units of the runs (the last of them held in the head's last input
    features alone) are checked narrowed together, and every width
    computes the hand-narrowed forward."""
    torch.manual_seed(0)
    model = ScalesInTurn()
    mutator = prepared_mutator(model)
    x = torch.rand(2, 3, 8, 8)
    for width, kept in zip(mutator.widths, (1, 2, 3, 4)):
        mutator.set_width(width)
        mask = [True] * kept + [False] * (4 - kept)
        assert model.proj.get_mutable_attr(
            'out_channels').current_mask.tolist() == mask * 3
        assert model.head.get_mutable_attr(
            'in_channels').current_mask.tolist() == mask * 3
        with torch.no_grad():
            assert torch.allclose(model(x), narrowed_scales(model, kept, x),
                                  atol=1e-6)


def test_a_run_narrowed_alone_splits_wrongly():
    """Why the runs' units are checked as a group: the split size follows
    all the runs at once, so one run narrowed alone (as mmrazor's check
    narrows the units of a failing half) splits the projection wrongly."""
    from pwkd_plugin.models.mutators.split_channels import equal_split_runs
    model = ScalesInTurn()
    mutator = prepared_mutator(model)
    first = next(
        unit for unit in mutator.mutable_units
        if any(channel.name == 'convs.0' for channel in unit.input_related))
    assert 'proj' in [channel.name for channel in first.output_related]
    first.current_choice = first.candidate_choices[1]
    with pytest.raises(RuntimeError):
        model(torch.rand(1, 3, 8, 8))
    first.current_choice = first.candidate_choices[-1]
    assert equal_split_runs(*_split_graph()) == {
        'split': {'getitem': (0, 4, 12), 'getitem_1': (4, 8, 12),
                  'getitem_2': (8, 12, 12)}}


def _split_graph():
    """The traced graph of ``ScalesInTurn`` and its pieces."""
    import torch.fx as fx
    from pwkd_plugin.models.mutators.shape_constants import graph_values
    from pwkd_plugin.models.mutators.split_channels import split_pieces
    model = ScalesInTurn()
    graph = fx.Tracer().trace(model)
    graph_module = fx.GraphModule(model, graph)
    for node in graph.nodes:  # the block's own forward: no module stack
        node.meta['nn_module_stack'] = {}
    values = graph_values(graph_module, graph, dict(x=torch.rand(1, 3, 8, 8)))
    return graph, split_pieces(model, graph, values)
