"""A map unfolded into patch columns (``nn.Unfold``), as the channel
tracer's graph node.

``nn.Unfold`` with a ``k x k`` kernel turns a ``(B, C, H, W)`` map into
``(B, C * k * k, L)`` columns: channel ``c`` of its input becomes channels
``c * k * k`` to ``c * k * k + k * k - 1`` of its output (T2T-ViT's soft
splits). mmrazor's graph has no node for it: it passes ``C`` channels on
and expands them only where a linear layer or a convolution reads more, so
a norm between (T2T's next layer norm over the ``C * k * k`` columns) is
given ``C`` of them, its units contradict the layer, and every layer
around the unfold is left whole. Here it expands each input channel into
its ``k * k`` columns at the unfold, as a flatten does: the layers reading
the columns narrow with their input's unit.
"""
import math

import torch.nn as nn
from mmrazor.structures.graph.channel_nodes import ExpandChannelNode
from mmrazor.structures.graph.module_graph import ModuleNode


def kernel_area(unfold: nn.Unfold) -> int:
    """The number of columns each input channel of ``unfold`` gives."""
    size = unfold.kernel_size
    return math.prod(size) if isinstance(size, (tuple, list)) else size**2


def unfold_channel_node(node: ModuleNode) -> ExpandChannelNode:
    """The graph node of an ``nn.Unfold`` call: each input channel expanded
    into its kernel area's output channels, in order."""
    return ExpandChannelNode(
        node.name,
        node.val,
        node.module_name,
        expand_ratio=kernel_area(node.val))
