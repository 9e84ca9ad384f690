"""Attentions whose heads are as wide as their input, to the channel
tracer.

mmpretrain's XCA and class attention split their projections into
``num_heads`` heads of ``C // num_heads``, ``C`` the channels of their
input: their static copy at a width keeps ``head_dims`` per head only where
the input keeps ``heads * head_dims`` channels. A slimmable attention that
names the layer reading its input (``heads_follow_input``) has that layer's
inputs bound, channel by channel, to its heads (``proj``'s inputs), so the
stream and the heads are one unit, narrowed by whole heads.
"""
from typing import Dict, List

import torch.nn as nn
from mmrazor.structures.graph.channel_graph import ChannelGraph


class HeadsFollowInputChannelGraph(ChannelGraph):
    """mmrazor's channel graph, binding the inputs of each attention of
    :attr:`model` that declares ``heads_follow_input`` to its heads once
    the channels have gone through it."""

    #: the traced model: set by the analyzer once it has traced it (mmrazor
    #: builds the graph from a copy it makes of the model).
    model: nn.Module = None

    def forward(self, num_input_channel=3):
        super().forward(num_input_channel)
        if self.model is not None:
            bind_heads_to_inputs(self, self.model)


def bind_heads_to_inputs(graph: ChannelGraph, model: nn.Module) -> None:
    """Bind the input channels of the layer each attention of ``model``
    names by ``heads_follow_input`` to ``proj``'s input channels in
    ``graph``."""
    nodes: Dict[int, List] = {}
    for node in graph:
        if isinstance(node.val, nn.Module):
            nodes.setdefault(id(node.val), []).append(node)
    for module in model.modules():
        name = getattr(module, 'heads_follow_input', None)
        if not isinstance(name, str):
            continue
        inputs = nodes.get(id(getattr(module, name)), [])
        heads = nodes.get(id(module.proj), [])
        for source in inputs:
            for target in heads:
                if len(source.in_channel_tensor) == len(
                        target.in_channel_tensor):
                    source.in_channel_tensor.union(target.in_channel_tensor)
