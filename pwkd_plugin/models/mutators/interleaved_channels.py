"""Tensors interleaved channel by channel, as the channel tracer's graph
nodes.

ViG's max-relative graph convolution puts each channel of a map beside the
same channel of its neighbours' largest difference before a grouped
convolution reads them: ``torch.cat([x.unsqueeze(2), x_j.unsqueeze(2)],
dim=2).reshape(b, 2 * c, n, 1)`` (or a ``torch.stack`` along dimension 2),
so channel ``2 c + j`` of the result is channel ``c`` of input ``j``.
mmrazor's graph reads the concatenation as one of channels (``[x, x_j]``):
a unit then narrows ``x`` by the convolution's groups of that false order,
and the narrowed network reads its features with the weights of other
channels. Here the inputs are bound channel by channel and each channel
expands into as many neighbouring channels as there are inputs (as an
expand node of mmrazor's does): the convolution's inputs narrow in pairs,
its groups by the runs of ``x`` they read.
"""
from typing import Dict, List

import torch
import torch.fx as fx
from mmrazor.structures.graph.channel_flow import ChannelTensor
from mmrazor.structures.graph.channel_nodes import (ChannelNode,
                                                    assert_channel)

from .fx_names import target_name

_MERGES = ('reshape', 'view', 'flatten')


class InterleavedChannelNode(ChannelNode):
    """Tensors of the same channels interleaved channel by channel.

    Args:
        name (str): The node's name (the fx node's).
        val: The node's value (``torch.cat`` or ``torch.stack``).
        ways (int): How many tensors are interleaved.
    """

    def __init__(self, name: str, val, ways: int) -> None:
        super().__init__(name, val)
        self.ways = ways

    def _get_in_channels_by_prev_nodes(self, prev_nodes) -> int:
        return prev_nodes[0].out_channels

    def _get_out_channel_by_in_channels(self, in_channels: int) -> int:
        return in_channels * self.ways

    def channel_forward(self, channel_tensors: List[ChannelTensor]):
        for tensor in channel_tensors[1:]:
            channel_tensors[0].union(tensor)
        self.in_channel_tensor = channel_tensors[0]
        self.out_channel_tensor = channel_tensors[0].expand(self.ways)
        return self.out_channel_tensor

    def check_channel(self) -> None:
        for node in self.prev_nodes:
            assert_channel(node.out_channels == self.in_channels, self)

    def __repr__(self) -> str:
        return super().__repr__() + f'_interleave({self.ways})'


def _joined(node: fx.Node, values: dict):
    """``(tensors, dim)`` of a ``torch.cat`` or ``torch.stack`` node."""
    if node.op != 'call_function' or node.target not in (torch.cat,
                                                         torch.concat,
                                                         torch.stack):
        return None, None
    tensors = node.args[0] if node.args else node.kwargs.get('tensors')
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get('dim', 0)
    if not isinstance(tensors, (list, tuple)) or not isinstance(dim, int) \
            or not all(isinstance(values.get(t), torch.Tensor)
                       for t in tensors):
        return None, None
    return tensors, dim


def _merged_into_channels(node: fx.Node, values: dict) -> bool:
    """Every use of ``node`` (a map of ``(B, C, ways, ...)``) merges its
    dimension 2 into its channels."""
    shape = values[node].shape
    merged = (shape[0], shape[1] * shape[2], *shape[3:])
    return bool(node.users) and all(
        user.op in ('call_method', 'call_function')
        and target_name(user) in _MERGES and user.args[0] is node
        and isinstance(values.get(user), torch.Tensor)
        and tuple(values[user].shape) == merged for user in node.users)


def interleaved_channels(graph: fx.Graph, values: dict) -> Dict[str, int]:
    """The ``torch.cat`` (of maps unsqueezed at dimension 2) and
    ``torch.stack`` nodes (of maps, at dimension 2) of ``graph`` whose
    result is only reshaped with dimension 2 merged into the channels.

    Args:
        graph (fx.Graph): The traced graph.
        values (dict): The value of every node on the tracer's demo input
            (:func:`~.shape_constants.graph_values`).

    Returns:
        dict: fx node name -> how many tensors it interleaves.
    """
    found = {}
    for node in graph.nodes:
        tensors, dim = _joined(node, values)
        if tensors is None or len(tensors) < 2:
            continue
        output = values.get(node)
        if not isinstance(output, torch.Tensor) or output.dim() < 4 or \
                dim % output.dim() != 2:
            continue
        stacked = node.target is torch.stack
        shapes = {tuple(values[t].shape) for t in tensors}
        if len(shapes) != 1 or len(next(iter(shapes))) != output.dim() - (
                1 if stacked else 0):
            continue
        if not stacked and next(iter(shapes))[2] != 1:
            continue
        if _merged_into_channels(node, values):
            found[node.name] = len(tensors)
    return found
