"""Constant tables added to tokens at their channels, as the channel
tracer's graph nodes.

A buffer read in a forward is a ``get_attr`` node, which mmrazor's graph
gives three channels of an input of its own: T2T-ViT's sinusoid position
table added to the tokens binds the embedding to that input, and the whole
stream is left whole. A module that names a buffer in ``channel_tables``
reads it at the channels of the tokens it is added to (its last dimension
follows them, :class:`~pwkd_plugin.models.dynamic_ops.SlimmableT2TViT`):
its ``get_attr`` node is a source of that many channels, named by the
buffer's dotted name, which the addition binds to the tokens'.
"""
from typing import Dict

import torch.fx as fx
import torch.nn as nn


def channel_tables(model: nn.Module, graph: fx.Graph) -> Dict[str, tuple]:
    """The ``get_attr`` nodes of ``graph`` that read a buffer its module
    names in ``channel_tables``.

    Returns:
        dict: fx node name -> (the buffer's dotted name, its channels: the
        size of its last dimension).
    """
    found = {}
    for node in graph.nodes:
        if node.op != 'get_attr':
            continue
        owner_name, _, attr = node.target.rpartition('.')
        owner = model.get_submodule(owner_name)
        buffer = owner._buffers.get(attr)
        if buffer is not None and attr in getattr(owner, 'channel_tables',
                                                  ()):
            found[node.name] = (node.target, buffer.shape[-1])
    return found
