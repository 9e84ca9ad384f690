"""Layers applied along another axis than the channels, to the channel
tracer.

MLP-Mixer's token mixing transposes its ``(batch, tokens, channels)``
input, runs an FFN whose linear layers read the last axis (now the tokens)
and transposes back. mmrazor's graph passes the channels through both
transposes, so the FFN's first linear layer is given the channels, a count
it does not read: the graph ends the channels there (an end node) and the
stream's channels are left whole (the patch embedding, every norm, every
channel FFN's output).

Here a transpose (or permute) that brings another axis than the channels
last (the channels' dim as the tracer reads them: 1 of a map, the last of
tokens; so tokens as many as the channels are still told apart), whose
output goes only through layers along the last axis
(:func:`_along_last`) to the transpose that restores the order (a
bracket), is read as it computes:

* the channels go from the first transpose to the second untouched (each
  channel is mixed on its own);
* the layers between read and write the other axis at its full size: an
  input and an end of the graph, so it is never narrowed (tokens are not a
  width), while the features inside (the FFN's hidden features) are a unit
  of their own, narrowed as any FFN's. The layers writing the other axis
  (the FFN's last linear layer) are named, so that they are not counted
  among the layers left whole: their inputs narrow.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.fx as fx
import torch.nn as nn
from mmrazor.structures.graph.channel_graph import ChannelGraph
from mmrazor.structures.graph.channel_nodes import (EndNode, InputChannelNode,
                                                    PassUnionChannelNode)

from .fx_names import target_name
from .heads_follow_input import HeadsFollowInputChannelGraph
from .split_channels import _channel_dim

_TRANSPOSES = ('transpose', 'permute', 'swapaxes', 'swapdims')


class OtherAxisChannelNode(PassUnionChannelNode):
    """A transpose opening a bracket of layers along another axis: its
    channels go on to the transpose closing it (:func:`follow_other_axes`).

    Args:
        name (str): The node's name (the fx node's).
        val: The node's value (the transpose).
        module_name (str): mmrazor's module name of the node.
        closed_by (str): The name of the transpose closing the bracket.
        size (int): The other axis's size: the layers' input and output.
    """

    def __init__(self, name: str, val, module_name: str, closed_by: str,
                 size: int) -> None:
        super().__init__(name, val, module_name)
        self.closed_by, self.size = closed_by, size


def _permutation(node: fx.Node, ndim: int) -> Optional[Tuple[int, ...]]:
    """The order of its input's dims a transpose or permute node gives
    (``None`` for any other node)."""
    name = target_name(node)
    if node.op not in ('call_method', 'call_function') or \
            name not in _TRANSPOSES:
        return None
    dims = (*node.args[1:], *node.kwargs.values())
    if name == 'permute':
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) != ndim or not all(isinstance(d, int) for d in dims):
            return None
        return tuple(d % ndim for d in dims)
    if len(dims) != 2 or not all(isinstance(d, int) for d in dims):
        return None
    order = list(range(ndim))
    first, second = dims[0] % ndim, dims[1] % ndim
    order[first], order[second] = second, first
    return tuple(order)


def _along_last(model: nn.Module, node: fx.Node) -> bool:
    """Whether ``node`` computes along the last axis only (or element by
    element): a linear layer, a LayerNorm over the last axis, a module
    without parameters, or a function of one tensor."""
    if node.op == 'call_module':
        module = model.get_submodule(node.target)
        if isinstance(module, nn.LayerNorm):
            return len(module.normalized_shape) == 1
        return isinstance(module, nn.Linear) or not any(
            True for _ in module.parameters())
    return node.op in ('call_method', 'call_function')


def _bracket(model: nn.Module, node: fx.Node,
             values: dict) -> Optional[Tuple[fx.Node, int, Tuple[str]]]:
    """The transpose closing the bracket ``node`` opens, the size of the
    axis it brings last and the layers writing that axis (before the first
    linear layer, and from the last on); ``None`` where ``node`` opens
    none."""
    source = values.get(node.args[0]) if node.args else None
    if not isinstance(source, torch.Tensor) or not isinstance(
            values.get(node), torch.Tensor):
        return None
    order = _permutation(node, source.dim())
    channels = _channel_dim(source)
    if order is None or channels is None or order[-1] == channels:
        return None
    shape = values[node].shape
    current, layers, linears = node, [], []
    while len(current.users) == 1:
        user = next(iter(current.users))
        value = values.get(user)
        if user.all_input_nodes != [current] or not isinstance(
                value, torch.Tensor):
            return None
        back = _permutation(user, value.dim())
        if back is not None:
            restored = all(order[back[i]] == i for i in range(len(back)))
            if not restored or not linears:
                return None
            writers = layers[:linears[0]] + layers[linears[-1]:]
            return user, shape[-1], tuple(writers)
        if value.shape[:-1] != shape[:-1] or not _along_last(model, user):
            return None
        if user.op == 'call_module':
            if isinstance(model.get_submodule(user.target), nn.Linear):
                linears.append(len(layers))
            layers.append(user.target)
        current = user
    return None


def other_axis_brackets(model: nn.Module, graph: fx.Graph,
                        values: dict) -> Dict[str, tuple]:
    """The transposes of ``graph`` opening a bracket of linear layers along
    another axis than the channels.

    Args:
        model (nn.Module): The traced model.
        graph (fx.Graph): Its graph.
        values (dict): The value of every node on the tracer's demo input
            (:func:`~.shape_constants.graph_values`).

    Returns:
        dict: fx node name of the opening transpose -> (the closing one's
        name, the size of the axis the layers read, the names of the layers
        writing it).
    """
    found = {}
    for node in graph.nodes:
        bracket = _bracket(model, node, values)
        if bracket is not None:
            close, size, writers = bracket
            found[node.name] = (close.name, size, writers)
    return found


def follow_other_axes(graph: ChannelGraph) -> None:
    """Rewire each bracket of ``graph`` (an mmrazor channel graph): the
    opening transpose feeds the closing one, the layers between read an
    input of the other axis's size and end in an end node."""
    for node in list(graph):
        if not isinstance(node, OtherAxisChannelNode) or \
                node.closed_by not in graph.nodes:
            continue
        close = graph.nodes[node.closed_by]
        source = graph.add_or_find_node(
            InputChannelNode(f'{node.name}_other_axis',
                             'input_placeholder',
                             input_channels=node.size))
        for user in list(node.next_nodes):
            graph.disconnect(node, user)
            graph.connect(source, user)
        end = graph.add_or_find_node(
            EndNode(f'{close.name}_other_axis', 'output_placeholder'))
        for last in list(close.prev_nodes):
            graph.disconnect(last, close)
            graph.connect(last, end)
        graph.connect(node, close)


class OtherAxisChannelGraph(HeadsFollowInputChannelGraph):
    """The analyzer's channel graph, with its brackets of layers along
    another axis rewired (:func:`follow_other_axes`) before mmrazor puts
    expand nodes where channel counts differ."""

    def _insert_expand_node(self):
        follow_other_axes(self)
        super()._insert_expand_node()
