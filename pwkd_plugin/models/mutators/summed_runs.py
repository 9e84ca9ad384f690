"""A tensor's channels viewed as equal runs and summed over the runs, as
the channel tracer's graph node.

ResNeSt's split attention convolves ``C * R`` channels in ``R`` radix
runs, views them as ``(B, R, C, H, W)`` and sums the runs (``x.view(B, R,
-1, H, W).sum(dim=1)``): channel ``c`` of the sum is channel ``c`` of every
run. mmrazor's graph passes channels through a view and a sum in order, so
the sum is given ``C * R`` channels, the layers reading it (``C``) contradict
them and every layer of the block is left whole. Here the sum over the runs
is a node of ``C`` channels bound to channel ``c`` of each run, as a grouped
convolution binds its groups: the runs narrow together, each keeping its
first channels, and the view's ``-1`` follows them.

Only a sum or mean over the runs' axis of a tensor that a view cut into
runs of the channels it had, in order (the runs first), or of elementwise
products and sums of such tensors (the split attention's weights times the
runs); a view by other axes, a transpose between, or a sum over another
axis is left as mmrazor reads it. Runs viewed by a channel count fixed
when the model was built cannot run narrower: mmrazor's check drops their
unit, and its layers stay whole.
"""
import operator
from typing import Dict, List, Optional

import torch
import torch.fx as fx
from mmrazor.structures.graph.channel_flow import ChannelTensor
from mmrazor.structures.graph.channel_nodes import ChannelNode, group_union

from .fx_names import target_name

_REDUCTIONS = ('sum', 'mean')
_VIEWS = ('view', 'reshape', 'unflatten')
_ELEMENTWISE = (operator.mul, operator.add, operator.sub, operator.truediv,
                torch.mul, torch.add, torch.sub, torch.div, 'mul', 'add',
                'sub', 'div', 'contiguous')


class RunSumChannelNode(ChannelNode):
    """The sum over ``runs`` equal runs of a tensor's channels: channel
    ``c`` of its output is channel ``c`` of every run.

    Args:
        name (str): The node's name (the fx node's).
        val: The node's value (the reduction).
        runs (int): The number of runs.
        channels (int): The channels of each run (of the output).
    """

    def __init__(self, name: str, val, runs: int, channels: int) -> None:
        super().__init__(name, val)
        self.runs, self.channels = runs, channels

    @property
    def _in_channels(self) -> int:
        return self.runs * self.channels

    @property
    def _out_channels(self) -> int:
        return self.channels

    def channel_forward(self, channel_tensors: List[ChannelTensor]):
        assert len(channel_tensors) == 1, f'{self}'
        self.in_channel_tensor = channel_tensors[0]
        self.out_channel_tensor = ChannelTensor(self.channels)
        group_union(self.in_channel_tensor, self.runs, self.out_channel_tensor)
        return self.out_channel_tensor


def _reduced_dims(node: fx.Node) -> Optional[tuple]:
    """The dims a ``sum`` or ``mean`` without ``keepdim`` reduces."""
    if node.op not in ('call_function', 'call_method') or target_name(
            node) not in _REDUCTIONS or node.op == 'call_function' and \
            node.target not in (torch.sum, torch.mean) or \
            node.kwargs.get('keepdim', False) or len(node.args) > 2:
        return None
    dim = node.args[1] if len(node.args) == 2 else node.kwargs.get('dim')
    dim = (dim, ) if isinstance(dim, int) else dim
    return tuple(dim) if isinstance(dim, (tuple, list)) else None


def _is_channels(tensor) -> bool:
    """A map or features, whose channels the graph holds in dim 1."""
    return isinstance(tensor, torch.Tensor) and tensor.dim() in (2, 4)


def _cut_into_runs(node: fx.Node, values: dict, runs: int, channels: int,
                   seen: dict) -> bool:
    """Whether ``node`` is ``(B, runs, channels, ...)``, cut by a view from
    a tensor of ``runs * channels`` channels in order, or an elementwise
    op of such tensors only."""
    if node in seen:
        return seen[node]
    seen[node] = False
    value = values.get(node)
    if not isinstance(value, torch.Tensor) or value.dim() < 3 or \
            tuple(value.shape[1:3]) != (runs, channels):
        return False
    if node.op not in ('call_function', 'call_method'):
        return False
    if target_name(node) in _VIEWS:
        source = node.args[0] if node.args else None
        tensor = values.get(source) if isinstance(source, fx.Node) else None
        found = _is_channels(tensor) and tensor.dim() + 1 == value.dim() \
            and tensor.shape[0] == value.shape[0] and \
            tensor.shape[1] == runs * channels and \
            tuple(tensor.shape[2:]) == tuple(value.shape[3:])
    elif node.target in _ELEMENTWISE:
        found = bool(node.all_input_nodes) and all(
            _cut_into_runs(arg, values, runs, channels, seen)
            for arg in node.all_input_nodes
            if isinstance(values.get(arg), torch.Tensor))
    else:
        found = False
    seen[node] = found
    return found


def run_sums(graph: fx.Graph, values: dict) -> Dict[str, tuple]:
    """The nodes of ``graph`` that sum a tensor's channels over equal runs.

    Args:
        graph (fx.Graph): The traced graph.
        values (dict): The value of every node on the tracer's demo input
            (:func:`~.shape_constants.graph_values`).

    Returns:
        dict: fx node name -> ``(runs, channels of each run)``.
    """
    found = {}
    for node in graph.nodes:
        dims = _reduced_dims(node)
        source = node.args[0] if node.args else None
        tensor = values.get(source) if isinstance(source, fx.Node) else None
        if dims is None or not isinstance(tensor, torch.Tensor) or \
                tensor.dim() < 3 or tuple(
                    dim % tensor.dim() for dim in dims) != (1, ):
            continue
        value = values.get(node)
        if not _is_channels(value) or tuple(value.shape) != (
                tensor.shape[0], *tensor.shape[2:]):
            continue
        runs, channels = tensor.shape[1:3]
        if runs > 1 and _cut_into_runs(source, values, runs, channels, {}):
            found[node.name] = (runs, channels)
    return found
