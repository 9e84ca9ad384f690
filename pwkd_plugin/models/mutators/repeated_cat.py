"""A concatenation that repeats a tensor, as the channel tracer's graph
node.

RevViT doubles its stream by concatenating the embedded tokens with
themselves (``torch.cat([x, x], dim=-1)``). mmrazor's graph gives a node
one edge per input node, whatever the times it is concatenated, so the
concatenation is read as ``x``'s channels once: half its real count. Its
readers (the chunks of the two halves) then contradict it, mmrazor puts an
expand node between, which binds neighbouring channels into one, and the
stream's units come out cut in two (RevViT's embedding narrowed as two
runs of plain channels instead of whole heads). Here the node concatenates
its inputs' channels in the order and as many times as the ``torch.cat``
lists them: channel ``c`` of each repetition is channel ``c`` of the
tensor repeated.
"""
from typing import Dict, List, Tuple

import torch.fx as fx
from mmrazor.structures.graph.channel_flow import ChannelTensor
from mmrazor.structures.graph.channel_nodes import (CatChannelNode,
                                                    assert_channel)

from .token_cat import _is_cat


class RepeatedCatChannelNode(CatChannelNode):
    """A concatenation of channels listing an input more than once.

    Args:
        name (str): The node's name (the fx node's).
        val: The node's value (``torch.cat``).
        inputs (tuple[str]): The fx names of the concatenated tensors, in
            order, repeated as listed.
    """

    def __init__(self, name: str, val, inputs: Tuple[str, ...]) -> None:
        super().__init__(name, val)
        self.inputs = inputs

    def _listed(self, prev_nodes) -> List[int]:
        """The index in ``prev_nodes`` of each concatenated tensor."""
        names = [node.name for node in prev_nodes]
        return [names.index(name) for name in self.inputs]

    def _get_in_channels_by_prev_nodes(self, prev_nodes) -> int:
        return sum(prev_nodes[index].out_channels
                   for index in self._listed(prev_nodes))

    def channel_forward(self, channel_tensors: List[ChannelTensor]):
        listed = self._listed(self.prev_nodes)
        tensor_cat = ChannelTensor.cat(
            [channel_tensors[index] for index in listed])
        self.in_channel_tensor = tensor_cat
        self.out_channel_tensor = tensor_cat
        return tensor_cat

    def check_channel(self) -> None:
        assert_channel(
            self._get_in_channels_by_prev_nodes(
                self.prev_nodes) == self.in_channels, self)


def repeated_cats(graph: fx.Graph) -> Dict[str, Tuple[str, ...]]:
    """The ``torch.cat`` nodes of ``graph`` that list a tensor more than
    once.

    Args:
        graph (fx.Graph): The traced graph.

    Returns:
        dict: fx node name -> the fx names of the tensors it concatenates,
        in order.
    """
    found = {}
    for node in graph.nodes:
        tensors = (node.args[0] if node.args else
                   node.kwargs.get('tensors')) if _is_cat(node) else None
        if not isinstance(tensors, (list, tuple)) or not all(
                isinstance(tensor, fx.Node) for tensor in tensors):
            continue
        names = tuple(tensor.name for tensor in tensors)
        if len(set(names)) < len(names):
            found[node.name] = names
    return found
