"""A tensor cut into equal runs of its channels by indexing with its own
size (CSPNet's halves): each run is a piece of the tensor's channels, and
the units of the runs narrow together; a cut by fixed numbers is left as
mmrazor reads it."""
import pytest
import torch
import torch.fx as fx
import torch.nn as nn

from mmrazor.models.mutables.mutable_channel.units.utils import \
    find_mutable as razor_find_mutable

from pwkd_plugin.models.mutators import (SlimmableTeacherMutator,
                                         teacher_channel_analyzer)
from pwkd_plugin.models.mutators.shape_constants import graph_values
from pwkd_plugin.models.mutators.sliced_channels import slice_pieces

from .test_shape_constants import prepared_mutator, traced_channels


class HalvesBySize(nn.Module):
    """CSPNet's stage in small: an expansion halved by its own size, the
    second half through a residual block and a transition, the halves
    concatenated into the final convolution, pooled and classified."""

    def __init__(self):
        super().__init__()
        self.expand = nn.Conv2d(3, 16, 1)
        self.block = nn.Conv2d(8, 8, 3, padding=1)
        self.transition = nn.Conv2d(8, 8, 1)
        self.final = nn.Conv2d(16, 12, 1)
        self.fc = nn.Linear(12, 10)

    def halves(self, x):
        split = x.shape[1] // 2
        return x[:, :split], x[:, split:]

    def forward(self, x):
        first, second = self.halves(self.expand(x))
        second = self.transition(self.block(second) + second)
        return self.fc(self.final(torch.cat((first, second), 1)).mean((2, 3)))


class HalvesByNumber(HalvesBySize):
    """The same halves by a number fixed when it was built."""

    def halves(self, x):
        return x[:, :8], x[:, 8:]


class QuartersBySize(HalvesBySize):
    """Runs of 4 and 12 channels, the first by an ellipsis: not equal."""

    def halves(self, x):
        split = x.shape[1] // 4
        return x[..., :split, :, :], x[:, split:]

    def forward(self, x):
        first, second = self.halves(self.expand(x))
        return self.fc(self.final(torch.cat((second, first), 1)).mean((2, 3)))


class HalvesByHeight(HalvesBySize):
    """Halves at the map's height (16 on a 16x16 input), not its
    channels' count."""

    def halves(self, x):
        split = x.shape[2] // 2
        return x[:, :split], x[:, split:]


def test_slices_by_the_tensors_own_size_are_pieces_of_equal_runs():
    model = HalvesBySize()
    graph = fx.symbolic_trace(model).graph
    values = graph_values(model, graph, dict(x=torch.rand(1, 3, 16, 16)))
    assert list(slice_pieces(graph, values).values()) == [{
        'getitem_1': (0, 8, 16),
        'getitem_2': (8, 16, 16)
    }]


class HalvesOfShuffledChannels(HalvesBySize):
    """ShuffleNetV2's halves of channels shuffled by a reshape."""

    def halves(self, x):
        batch, channels, height, width = x.shape
        x = x.view(batch, 2, channels // 2, height, width).transpose(1, 2)
        return super().halves(x.reshape(batch, channels, height, width))


@pytest.mark.parametrize(
    'kind',
    [HalvesByNumber, QuartersBySize, HalvesByHeight, HalvesOfShuffledChannels])
def test_other_slices_are_not_pieces(kind):
    model = kind()
    graph = fx.symbolic_trace(model).graph
    values = graph_values(model, graph, dict(x=torch.rand(1, 3, 16, 16)))
    assert slice_pieces(graph, values) == {}


def test_each_half_is_a_unit_and_the_halves_pass_the_check_together():
    units = traced_channels(HalvesBySize())
    assert any({('expand', True, (0, 8)), ('final', False, (0, 8))} <= unit
               for unit in units), units
    assert any({('expand', True, (8, 16)), ('block', False, (0, 8)),
                ('block', True, (0, 8)), ('transition', False, (0, 8))} <=
               unit for unit in units), units
    assert any({('transition', True, (0, 8)), ('final', False, (8, 16))} <=
               unit for unit in units), units


def test_the_halves_are_checked_together_where_mmrazor_checks_one_by_one(
        monkeypatch):
    # mmrazor bisects its list where a unit fails, down to single units: a
    # half narrowed alone moves the split (the second half alone fails).
    def one_by_one(model, try_units, *args):
        return [
            unit for unit in try_units
            if razor_find_mutable(model, [unit], *args)
        ]

    monkeypatch.setattr(teacher_channel_analyzer, 'razor_find_mutable',
                        one_by_one)
    units = traced_channels(HalvesBySize())
    assert any(('expand', True, (0, 8)) in unit for unit in units)
    assert any(('expand', True, (8, 16)) in unit for unit in units)


def test_halves_by_a_fixed_number_are_read_as_mmrazor_reads_them():
    units = traced_channels(HalvesByNumber())
    assert not any(('expand', True, (0, 8)) in unit for unit in units)


def test_the_halves_narrow_together_at_every_width():
    torch.manual_seed(0)
    model = HalvesBySize()
    mutator = prepared_mutator(model)
    inputs = torch.rand(2, 3, 8, 8)
    for width, channels, out in zip(mutator.widths, (2, 4, 6, 8),
                                    (3, 6, 9, 12)):
        mutator.set_width(width)
        half = [True] * channels + [False] * (8 - channels)
        assert model.expand.get_mutable_attr(
            'out_channels').current_mask.tolist() == half + half
        assert model.final.get_mutable_attr(
            'in_channels').current_mask.tolist() == half + half
        kept = list(range(channels)) + list(range(8, 8 + channels))
        expand = model.expand.weight[kept], model.expand.bias[kept]
        block = model.block.weight[:channels, :channels], \
            model.block.bias[:channels]
        transition = model.transition.weight[:channels, :channels], \
            model.transition.bias[:channels]
        final = model.final.weight[:out, kept], model.final.bias[:out]
        fc = model.fc.weight[:, :out], model.fc.bias
        with torch.no_grad():
            x = nn.functional.conv2d(inputs, *expand)
            first, second = x[:, :channels], x[:, channels:]
            second = nn.functional.conv2d(second, *block, padding=1) + second
            second = nn.functional.conv2d(second, *transition)
            x = nn.functional.conv2d(torch.cat((first, second), 1), *final)
            expected = nn.functional.linear(x.mean((2, 3)), *fc)
            assert torch.allclose(model(inputs), expected, atol=1e-6)


class HalvesReshapedByNumbers(HalvesBySize):
    """The second half reshaped by numbers fixed at build time (a narrower
    half cannot run)."""

    def forward(self, x):
        first, second = self.halves(self.expand(x))
        second = second.reshape(2, 8, 64).reshape(2, 8, 8, 8)
        second = self.transition(self.block(second) + second)
        return self.fc(self.final(torch.cat((first, second), 1)).mean((2, 3)))


def test_halves_that_cannot_narrow_are_left_whole_with_the_layers_beside():
    model = HalvesReshapedByNumbers()
    mutator = SlimmableTeacherMutator(
        parse_cfg=dict(type='ChannelAnalyzer', demo_input=(2, 3, 8, 8),
                       tracer_type='FxTracer'),
        allow_mostly_whole=True)
    mutator.prepare_from_supernet(model)
    # The final convolution's first inputs are no unit's: the transition's
    # unit beside them is left out too (mmrazor fills a layer's channels no
    # unit holds only after the held ones).
    assert mutator.whole_layers == ['expand', 'block', 'transition']
    for width in mutator.widths:
        mutator.set_width(width)
        assert model(torch.rand(2, 3, 8, 8)).shape == (2, 10)
