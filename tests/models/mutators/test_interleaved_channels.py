"""Tensors interleaved channel by channel (ViG's max-relative graph
convolution) narrow in pairs, grouped by the convolution that reads them."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from pwkd_plugin.models.mutators import SlimmableTeacherMutator

CHANNELS, GROUPS = 16, 4


class Interleaves(nn.Module):
    """Each channel of a map beside the same channel of its difference
    from its neighbour (``torch.cat`` of the maps unsqueezed at dimension
    2, or ``torch.stack``), merged into the channels and read by a grouped
    convolution, as ViG's max-relative graph convolution does."""

    def __init__(self, stack: bool = False) -> None:
        super().__init__()
        self.stack = stack
        self.stem = nn.Conv2d(3, CHANNELS, 1)
        self.fc1 = nn.Conv2d(CHANNELS, CHANNELS, 1)
        self.gconv = nn.Conv2d(2 * CHANNELS, 2 * CHANNELS, 1, groups=GROUPS)
        self.fc2 = nn.Conv2d(2 * CHANNELS, CHANNELS, 1)
        self.head = nn.Linear(CHANNELS, 2)

    def forward(self, x):
        x = self.stem(x)
        y = self.fc1(x)
        b, c, h, w = y.shape
        relative = y.roll(1, -1) - y
        if self.stack:
            pairs = torch.stack([y, relative], dim=2)
        else:
            pairs = torch.cat([y.unsqueeze(2), relative.unsqueeze(2)], dim=2)
        y = self.gconv(pairs.reshape(b, 2 * c, h, w))
        return self.head((x + self.fc2(y)).mean((2, 3)))


def runs(count: int, kept: int) -> torch.Tensor:
    """The first ``kept`` channels of each of ``GROUPS`` runs of
    ``count``."""
    run = torch.arange(count // GROUPS)
    return torch.cat([run[:kept] + g * len(run) for g in range(GROUPS)])


def by_hand(model: Interleaves, x, stream, node, out):
    """``model`` narrowed by hand: stream channels ``stream``, ``fc1``'s
    outputs ``node`` (the pairs ``2 c, 2 c + 1`` of each), ``gconv``'s
    outputs ``out``."""
    pairs = torch.stack([2 * node, 2 * node + 1], 1).flatten()
    in_group = 2 * CHANNELS // GROUPS
    x = F.conv2d(x, model.stem.weight[stream], model.stem.bias[stream])
    y = F.conv2d(x, model.fc1.weight[node][:, stream], model.fc1.bias[node])
    joined = torch.stack([y, y.roll(1, -1) - y], 2).flatten(1, 2)
    y = F.conv2d(joined, model.gconv.weight[out][:, pairs[pairs < in_group]],
                 model.gconv.bias[out], groups=GROUPS)
    y = F.conv2d(y, model.fc2.weight[stream][:, out], model.fc2.bias[stream])
    return F.linear((x + y).mean((2, 3)), model.head.weight[:, stream],
                    model.head.bias)


@pytest.mark.parametrize('stack', [False, True])
def test_interleaved_pairs_narrow_by_the_groups_that_read_them(stack):
    """``fc1``'s outputs narrow by the first channels of each of the four
    runs a group of ``gconv`` reads (1 of 4 at width 0.25, not the first 4
    of 16), ``gconv``'s inputs by the pairs of them; the narrowed network
    computes the network narrowed by hand. Read as a concatenation of
    channels (mmrazor's reading of the ``torch.cat``), ``fc1`` narrowed by
    halves, and every group read other channels' weights (mmrazor reads
    the ``torch.stack`` as bound channels, expanded before the reshape)."""
    torch.manual_seed(0)
    model = Interleaves(stack)
    mutator = SlimmableTeacherMutator(parse_cfg=dict(
        type='ChannelAnalyzer', demo_input=(1, 3, 8, 8),
        tracer_type='FxTracer'))
    mutator.prepare_from_supernet(model)
    assert mutator.whole_layers == []
    plain = Interleaves(stack)
    plain.load_state_dict(
        {k: v for k, v in model.state_dict().items() if 'mutable' not in k},
        strict=False)
    x = torch.randn(2, 3, 8, 8)
    for width, kept in zip(mutator.widths, (1, 2, 3, 4)):
        mutator.set_width(width)
        node = model.fc1.get_mutable_attr('out_channels').current_mask
        assert node.nonzero().flatten().tolist() == runs(CHANNELS,
                                                         kept).tolist()
        assert torch.equal(
            model.gconv.get_mutable_attr('in_channels').current_mask,
            node.repeat_interleave(2))
        out = model.gconv.get_mutable_attr('out_channels').current_mask
        assert out.nonzero().flatten().tolist() == runs(
            2 * CHANNELS, 2 * kept).tolist()
        stream = model.stem.get_mutable_attr('out_channels').current_mask
        with torch.no_grad():
            expected = by_hand(plain, x, stream.nonzero().flatten(),
                               node.nonzero().flatten(),
                               out.nonzero().flatten())
            assert torch.allclose(model(x), expected, atol=1e-5), width
