"""The heads of a cross-covariance attention, as a channel tracer node.

mmrazor's graph reads the reshape of ``qkv`` into heads as binding every
channel to every other, so no unit holds ``qkv``. A slimmable XCA
(:class:`~pwkd_plugin.models.dynamic_ops.SlimmableXCAMixin`) computes its
heads in one traced function (``cross_covariance_attention``); here that
node binds channel ``c`` of q, of k and of v (the same head, the same place
in it) and passes on the v channels: one unit holds ``qkv``'s three spans,
the attention's ``num_features`` and ``proj``'s inputs, and keeps whole
heads (:mod:`.head_channels`).
"""
from typing import Dict, List, Tuple

import torch.fx as fx
import torch.nn as nn
from mmrazor.structures.graph.channel_flow import ChannelTensor
from mmrazor.structures.graph.channel_nodes import ChannelNode

from ..dynamic_ops.cross_covariance_attention import \
    cross_covariance_attention


class HeadsChannelNode(ChannelNode):
    """The heads of an attention: ``3 * C`` channels of q, k and v in,
    ``C`` out, channel ``c`` of each bound.

    Args:
        name (str): The node's name (the fx node's).
        val (nn.Module): The attention.
        module_name (str): The attention's name in the model.
    """

    @property
    def _in_channels(self) -> int:
        return 3 * self.val.num_features

    @property
    def _out_channels(self) -> int:
        return self.val.num_features

    def channel_forward(self, channel_tensors: List[ChannelTensor]):
        # Further inputs (the temperature) hold no channels.
        qkv, features = channel_tensors[0], self.val.num_features
        spans = [qkv[i * features:(i + 1) * features] for i in range(3)]
        spans[0].union(spans[1])
        spans[0].union(spans[2])
        self.in_channel_tensor = spans[2]
        self.out_channel_tensor = ChannelTensor(features)
        self.out_channel_tensor.union(spans[2])
        return self.out_channel_tensor

    def check_channel(self):
        assert self.prev_nodes[0].out_channels == self.in_channels, f'{self}'


def cross_covariance_nodes(model: nn.Module,
                    graph: fx.Graph) -> Dict[str, Tuple[str, nn.Module]]:
    """The nodes of ``graph`` that compute an XCA's heads.

    Returns:
        dict: fx node name -> ``(name, module)`` of the attention.
    """
    found = {}
    for node in graph.nodes:
        if node.op != 'call_function' or \
                node.target is not cross_covariance_attention:
            continue
        stack = node.meta.get('nn_module_stack') or {}
        if stack:
            path = list(stack.values())[-1][0]
            found[node.name] = (path, model.get_submodule(path))
    return found
