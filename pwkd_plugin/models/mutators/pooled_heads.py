"""Heads folded into the batch around a pooling shared by every head, as
the channel tracer's graph nodes.

MViTv2's attention pools q, k and v one map per head through layers of one
head's features. A slimmable one
(:class:`~pwkd_plugin.models.dynamic_ops.SlimmableMultiScaleAttention`)
folds the heads in one traced function (``heads_to_maps``), read here as
binding channel ``c`` of every head to the maps' channel ``c``, and attends
in another (``pooled_attention``), read as binding channel ``c`` of q, k
and v and giving it to every head of the output. One unit then holds each
head's span of ``qkv``'s q, k and v, the poolings, their norms and each
head's span of ``proj``'s inputs: every head keeps the same head dims.
"""
from typing import Dict, List, Tuple

import torch
import torch.fx as fx
import torch.nn as nn
from mmrazor.structures.graph.channel_flow import ChannelTensor
from mmrazor.structures.graph.channel_nodes import ChannelNode

from ..dynamic_ops.multiscale_attention import (heads_to_maps,
                                                pooled_attention)


class _PooledHeadsNode(ChannelNode):
    """A node between ``heads`` heads side by side and one head's
    ``dims`` channels.

    Args:
        name (str): The node's name (the fx node's).
        val: The node's function.
        heads (int): The heads.
        dims (int): The channels of a head.
    """

    def __init__(self, name: str, val, heads: int, dims: int) -> None:
        super().__init__(name, val)
        self.heads, self.dims = heads, dims

    def _head(self, tensor: ChannelTensor, head: int) -> ChannelTensor:
        return tensor[head * self.dims:(head + 1) * self.dims]

    def check_channel(self) -> None:
        """Its input and output differ in count by the heads."""


class FoldHeadsChannelNode(_PooledHeadsNode):
    """``heads * dims`` channels in, ``dims`` out: channel ``c`` of every
    head bound to channel ``c``."""

    @property
    def _in_channels(self) -> int:
        return self.heads * self.dims

    @property
    def _out_channels(self) -> int:
        return self.dims

    def channel_forward(self, channel_tensors: List[ChannelTensor]):
        self.in_channel_tensor = channel_tensors[0]
        self.out_channel_tensor = ChannelTensor(self.dims)
        for head in range(self.heads):
            self.out_channel_tensor.union(
                self._head(channel_tensors[0], head))
        return self.out_channel_tensor


class PooledAttentionChannelNode(_PooledHeadsNode):
    """q, k and v of ``dims`` channels in, bound channel by channel; their
    channels given to each of the ``heads`` heads out."""

    @property
    def _in_channels(self) -> int:
        return self.dims

    @property
    def _out_channels(self) -> int:
        return self.heads * self.dims

    def channel_forward(self, channel_tensors: List[ChannelTensor]):
        # Further inputs (sizes, relative position tables) hold none.
        q, k, v = channel_tensors[:3]
        q.union(k)
        q.union(v)
        self.in_channel_tensor = v
        self.out_channel_tensor = ChannelTensor(self.heads * self.dims)
        for head in range(self.heads):
            self._head(self.out_channel_tensor, head).union(v)
        return self.out_channel_tensor


def pooled_head_nodes(model: nn.Module, graph: fx.Graph,
                      values: dict) -> Dict[str, Tuple[type, int, int]]:
    """The nodes of ``graph`` that fold heads or attend pooled heads.

    Args:
        model (nn.Module): The traced model.
        graph (fx.Graph): The traced graph.
        values (dict): The value of every node on the tracer's demo input.

    Returns:
        dict: fx node name -> ``(node class, heads, dims of a head)``.
    """
    # node class, the maps out (else q in), the argument of the heads.
    kinds = {
        heads_to_maps: (FoldHeadsChannelNode, True, 1),
        pooled_attention: (PooledAttentionChannelNode, False, 3),
    }
    found = {}
    for node in graph.nodes:
        if node.op != 'call_function' or node.target not in kinds:
            continue
        kind, source, heads = kinds[node.target]
        # The maps out, or q in: (B * heads, dims, H, W) / (B * heads, N,
        # dims).
        value = values.get(node if source else node.args[0])
        if not isinstance(value, torch.Tensor):
            continue
        dims = value.shape[1] if source else value.shape[-1]
        found[node.name] = (kind, int(node.args[heads]), int(dims))
    return found
