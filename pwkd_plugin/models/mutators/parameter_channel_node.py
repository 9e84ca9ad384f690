"""Per-channel parameters multiplied into a tensor, as the channel tracer's
graph nodes.

torch.fx reads a module's parameter in a forward as a ``get_attr`` node.
mmrazor's tracer gives such a node three channels of an input of its own,
so a layer scale multiplied into a branch (``self.layer_scale.unsqueeze(-1)
.unsqueeze(-1) * x``) does not match the branch's channels: the tracer turns
the product into an output of the graph, and every layer whose channels
reach it (a PoolFormer block's residual stream, its norms, the convolution
that opens the stage) is left whole. Here a parameter with one entry per
channel (one dimension longer than 1) that is only reshaped and multiplied
into a tensor or added to it (a bias of a module's own: BEiT's attention
adds its q and v biases to the spans of its qkv output), or put beside a
tensor's tokens (a class token expanded over the batch and concatenated
before the patch tokens, :mod:`.token_cat`), is a source of its own
channels, which the product, the sum or the concatenation binds to the
tensor's; its channels are named by the parameter's dotted name. So is a
map of one image, ``(1, C, H, W)``, added to a feature map (ViG's
position embedding): its channels are its dimension 1.
"""
import operator
from typing import Callable, Collection, Dict, List

import torch
import torch.fx as fx
import torch.nn as nn
from mmrazor.structures.graph.channel_flow import ChannelTensor
from mmrazor.structures.graph.channel_nodes import ChannelNode

from ..dynamic_ops.channel_parameters import is_channel_map

#: the calls through which a parameter keeps its channels: reshapes.
_RESHAPES = ('unsqueeze', 'view', 'reshape', 'expand_as', 'expand')
_MULTIPLY_FUNCTIONS = (operator.mul, torch.mul)
#: a per-channel bias added to a tensor binds its channels as a product.
_ADD_FUNCTIONS = (operator.add, torch.add)


class ParameterChannelNode(ChannelNode):
    """A per-channel parameter: a source of ``num_channels`` channels, named
    by the parameter's dotted name (``val``).

    Args:
        name (str): The node's name (the fx node's).
        val (str): The parameter's dotted name in the model.
        num_channels (int): The parameter's channel count.
    """

    def __init__(self, name: str, val: str, num_channels: int) -> None:
        super().__init__(name, val)
        self.num_channels = num_channels

    @property
    def _in_channels(self) -> int:
        return self.num_channels

    @property
    def _out_channels(self) -> int:
        return self.num_channels

    def check_channel(self) -> None:
        """Its input (the tracer gives every ``get_attr`` one) is ignored."""

    def channel_forward(self, channel_tensors: List[ChannelTensor]):
        tensor = ChannelTensor(self.num_channels)
        self.in_channel_tensor = tensor
        self.out_channel_tensor = tensor
        return tensor


def _is_product(node: fx.Node) -> bool:
    """A product (or a sum) of two tensors."""
    multiplies = (node.op == 'call_function' and node.target in
                  (*_MULTIPLY_FUNCTIONS, *_ADD_FUNCTIONS)) or (
                      node.op == 'call_method'
                      and node.target in ('mul', 'add'))
    return multiplies and len(node.args) == 2 and all(
        isinstance(arg, fx.Node) for arg in node.args)


def _only_multiplied(node: fx.Node, binds: Collection[str] = ()) -> bool:
    """Every use of ``node`` is a reshape of it, a product or a sum with it
    or one of ``binds`` (nodes binding it to a tensor channel by
    channel)."""
    for user in node.users:
        if user.op == 'call_method' and user.target in _RESHAPES and \
                user.args[0] is node:
            if not _only_multiplied(user, binds):
                return False
        elif not _is_product(user) and user.name not in binds:
            return False
    return bool(node.users)


def per_channel_parameters(
        model: nn.Module, graph: fx.Graph,
        sliced_elsewhere: Callable[[nn.Module], bool],
        binds: Collection[str] = ()) -> Dict[str, tuple]:
    """The ``get_attr`` nodes of ``graph`` that read a per-channel
    parameter only multiplied into (or added to) a tensor.

    Args:
        model (nn.Module): The traced model.
        graph (fx.Graph): Its graph.
        sliced_elsewhere (Callable): True for a module whose parameters a
            dynamic op of its own slices (a vision transformer's tokens): its
            parameters are left to it.
        binds (Collection[str]): Names of nodes that bind their inputs'
            channels one to one (a class token concatenated before the
            patch tokens, :mod:`.token_cat`).

    Returns:
        dict: fx node name -> (the parameter's dotted name, its channels).
    """
    found = {}
    for node in graph.nodes:
        if node.op != 'get_attr':
            continue
        owner_name, _, attr = node.target.rpartition('.')
        if not owner_name:
            continue  # the model itself cannot be a dynamic op
        owner = model.get_submodule(owner_name)
        parameter = owner._parameters.get(attr)
        if parameter is None or sliced_elsewhere(owner):
            continue
        longer = [size for size in parameter.shape if size > 1]
        if is_channel_map(parameter):
            longer = [parameter.shape[1]]
        if len(longer) == 1 and _only_multiplied(node, binds):
            found[node.name] = (node.target, longer[0])
    return found
