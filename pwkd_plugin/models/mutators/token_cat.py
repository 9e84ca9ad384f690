"""Tensors concatenated along their tokens, as the channel tracer's graph
nodes.

mmrazor's graph reads every ``torch.cat`` as a concatenation of channels:
a vision transformer's class token put before the patch tokens
(``torch.cat((cls_token, x), dim=1)`` of ``(B, N, C)`` tensors) gives a
node of ``2 C`` channels, which matches no layer, and the stream around it
is left whole. A concatenation along another dimension than the channels
(found from the shapes on the tracer's demo input) and the last binds its
inputs' channels one to one instead.
"""
from typing import Set

import torch
import torch.fx as fx

from .split_channels import _channel_dim


def _is_cat(node: fx.Node) -> bool:
    return node.op == 'call_function' and node.target in (torch.cat,
                                                          torch.concat)


def token_cats(graph: fx.Graph, values: dict) -> Set[str]:
    """The names of the ``torch.cat`` nodes of ``graph`` that concatenate
    along another dimension than the channels.

    Args:
        graph (fx.Graph): The traced graph.
        values (dict): The value of every node on the tracer's demo input
            (:func:`~.shape_constants.graph_values`).
    """
    found = set()
    for node in graph.nodes:
        if not _is_cat(node) or not isinstance(values.get(node),
                                               torch.Tensor):
            continue
        tensors = node.args[0] if node.args else node.kwargs.get('tensors')
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get(
            'dim', 0)
        output = values[node]
        channels = _channel_dim(output)
        if channels is None or not isinstance(dim, int):
            continue
        dim %= output.dim()
        # Along the last dimension it may be a channels-last map's channels.
        if dim not in (channels, output.dim() - 1) and all(
                isinstance(values.get(t), torch.Tensor)
                and values[t].shape[channels] == output.shape[channels]
                for t in tensors):
            found.add(node.name)
    return found
