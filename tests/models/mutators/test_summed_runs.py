"""A tensor's channels viewed as equal runs and summed over them (ResNeSt's
radix splits): the sum's channel ``c`` is bound to channel ``c`` of every
run, so the runs narrow together; other views and sums are left as mmrazor
reads them."""
import copy

import pytest
import torch
import torch.fx as fx
import torch.nn as nn
from mmpretrain.models.backbones.resnest import SplitAttentionConv2d

from pwkd_plugin.models.mutators import SlimmableTeacherMutator
from pwkd_plugin.models.mutators.shape_constants import graph_values
from pwkd_plugin.models.mutators.summed_runs import run_sums

from .test_shape_constants import prepared_mutator, traced_channels


class SumsRuns(nn.Module):
    """Two runs of 8 channels summed, then weighted by a softmax over the
    runs and summed again (a split attention written out)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.fc = nn.Conv2d(8, 16, 1)
        self.head = nn.Linear(8, 10)

    def runs(self, x):
        return x.view(x.size(0), 2, -1, x.size(2), x.size(3))

    def forward(self, x):
        splits = self.runs(self.conv(x))
        gap = splits.sum(dim=1).mean((2, 3), keepdim=True)
        atten = self.fc(gap).view(x.size(0), 2, -1).softmax(1).reshape(
            x.size(0), -1, 1, 1)
        out = torch.sum(atten.view(x.size(0), 2, -1, 1, 1) * splits, dim=1)
        return self.head(out.mean((2, 3)))


class SumsPairs(SumsRuns):
    """Neighbouring channels summed (the view's runs last)."""

    def forward(self, x):
        x = self.conv(x)
        pairs = x.view(x.size(0), -1, 2, x.size(2), x.size(3)).sum(2)
        return self.head(pairs.mean((2, 3)))


class SumsTransposedPairs(SumsRuns):
    """Neighbouring channels moved to the second axis, then summed."""

    def forward(self, x):
        x = self.conv(x)
        pairs = x.view(x.size(0), -1, 2, x.size(2), x.size(3))
        return self.head(pairs.transpose(1, 2).sum(1).mean((2, 3)))


class KeepsRunsAxis(SumsRuns):
    """The runs summed into an axis of one."""

    def forward(self, x):
        runs = self.runs(self.conv(x)).sum(1, keepdim=True)
        return self.head(runs.flatten(1, 2).mean((2, 3))[:, :8])


def sums_found(model):
    graph = fx.symbolic_trace(model).graph
    values = graph_values(model, graph, dict(x=torch.rand(1, 3, 8, 8)))
    return run_sums(graph, values)


def test_sums_over_the_runs_of_a_view_are_found():
    assert sums_found(SumsRuns()) == {'sum_1': (2, 8), 'sum_2': (2, 8)}


@pytest.mark.parametrize('kind',
                         [SumsPairs, SumsTransposedPairs, KeepsRunsAxis])
def test_other_sums_are_not_runs(kind):
    assert sums_found(kind()) == {}


class SplitAttention(nn.Module):
    """mmpretrain's split-attention convolution between two convolutions,
    ``radix`` runs of 8 channels in ``groups`` groups."""

    def __init__(self, radix=2, groups=1):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.attention = SplitAttentionConv2d(
            8, 8, 3, padding=1, radix=radix, groups=groups)
        self.conv3 = nn.Conv2d(8, 12, 1)
        self.fc = nn.Linear(12, 10)

    def forward(self, x):
        x = self.conv3(self.attention(self.stem(x)))
        return self.fc(x.mean((2, 3)))


def test_a_split_attention_is_one_unit_with_its_runs():
    units = traced_channels(SplitAttention())
    assert any({('attention.conv', True, (0, 8)),
                ('attention.conv', True, (8, 16)),
                ('attention.bn0', True, (0, 8)),
                ('attention.bn0', True, (8, 16)),
                ('attention.fc2', True, (0, 8)),
                ('attention.fc2', True, (8, 16)),
                ('attention.fc1', False, (0, 8)),
                ('conv3', False, (0, 8))} <= unit for unit in units), units


def _kept(runs, run, channels):
    """The first ``channels`` of each of ``runs`` runs of ``run``."""
    return [number * run + channel for number in range(runs)
            for channel in range(channels)]


def narrow_split_attention(layer, in_channels, channels, inter):
    """mmpretrain's split attention of ``channels`` channels per radix run
    (``inter`` in its attention), holding the weights of ``layer`` at the
    first channels of each run."""
    radix, groups = layer.radix, layer.groups
    runs, run = radix * groups, layer.channels // groups
    out = _kept(runs, run, channels // groups)
    fc1_rows = _kept(groups, layer.fc1.out_channels // groups,
                     inter // groups)
    narrow = SplitAttentionConv2d(in_channels, channels, 3, padding=1,
                                  radix=radix, groups=groups)
    narrow.fc1 = nn.Conv2d(channels, inter, 1, groups=groups)
    narrow.fc2 = nn.Conv2d(inter, channels * radix, 1, groups=groups)
    narrow.load_state_dict({
        'conv.weight':
        layer.conv.weight[out, :in_channels // runs],
        'fc1.weight': layer.fc1.weight[fc1_rows, :channels // groups],
        'fc1.bias': layer.fc1.bias[fc1_rows],
        'fc2.weight': layer.fc2.weight[out, :inter // groups],
        'fc2.bias': layer.fc2.bias[out],
    }, strict=False)
    # The norms are switchable: a narrower width has norms of its own.
    narrow.bn0 = copy.deepcopy(layer.bn0.to_static_op())
    narrow.bn1 = copy.deepcopy(layer.bn1.to_static_op())
    return narrow.eval()


@pytest.mark.parametrize('radix,groups', [(2, 1), (4, 1), (2, 2)])
def test_the_runs_narrow_together_as_a_narrower_split_attention(
        radix, groups):
    """Every width keeps the first channels of each radix run in the
    convolution, its norm and the attention's fc2 (whose groups' runs the
    radix softmax reorders as whole runs), and computes mmpretrain's
    split attention of that many channels."""
    torch.manual_seed(0)
    model = SplitAttention(radix, groups).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.2)
                module.running_var.uniform_(0.5, 2)
    mutator = prepared_mutator(model)
    inputs = torch.rand(2, 3, 8, 8)
    layer = model.attention
    run = 8 // groups
    for width, channels in zip(mutator.widths, (2, 4, 6, 8)):
        mutator.set_width(width)
        mask = [True] * (channels // groups) + \
            [False] * (run - channels // groups)
        for conv in (layer.conv, layer.fc2):
            assert conv.get_mutable_attr(
                'out_channels').current_mask.tolist() == \
                mask * radix * groups
        assert model.conv3.get_mutable_attr(
            'in_channels').current_mask.tolist() == mask * groups
        inter = int(layer.fc1.get_mutable_attr(
            'out_channels').current_mask.sum())
        with torch.no_grad():
            x = model.stem(inputs)
            narrow = narrow_split_attention(layer, x.shape[1], channels,
                                            inter)
            assert torch.allclose(layer(x), narrow(x), atol=1e-6), width


class ViewsRunsByNumber(SumsRuns):
    """Runs viewed by a channel count fixed when it was built, after a
    stem."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 3, 3, padding=1)

    def runs(self, x):
        return x.view(x.size(0), 2, 8, x.size(2), x.size(3))

    def forward(self, x):
        return super().forward(self.stem(x))


def test_runs_viewed_by_a_fixed_count_are_left_whole():
    """The sum is followed, but a narrower width cannot run the view:
    mmrazor's check drops the unit and its layers stay whole."""
    assert sums_found(ViewsRunsByNumber()) == {
        'sum_1': (2, 8), 'sum_2': (2, 8)}
    model = ViewsRunsByNumber()
    mutator = SlimmableTeacherMutator(
        parse_cfg=dict(type='ChannelAnalyzer', demo_input=(1, 3, 8, 8),
                       tracer_type='FxTracer'),
        allow_mostly_whole=True)
    mutator.prepare_from_supernet(model)
    assert {'conv', 'fc'} <= set(mutator.whole_layers)
    for width in mutator.widths:
        mutator.set_width(width)
        assert model(torch.rand(2, 3, 8, 8)).shape == (2, 10)
