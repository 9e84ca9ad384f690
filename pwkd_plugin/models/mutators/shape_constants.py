"""Shapes read from tensors are numbers, not channels, to the tracer.

A forward that reshapes by sizes it reads from a tensor (``B, C, H, W =
x.shape``; ``x.reshape(B, H, W, -1)``) gives torch.fx nodes for those sizes,
and mmrazor's channel graph treats every node feeding the reshape as a
source of channels bound to the reshaped tensor's: the tensor's channels get
bound to whatever the sizes were read from (another stage, the input), and
whole stages are left unsliced. Here each such size node is replaced by its
value on the tracer's demo input (and a check of sizes, ``torch._assert``,
is dropped), so the reshape has one tensor input and its channels pass
through it. A tensor built from sizes alone (Twins' attention mask of a
padded window grid: ``torch.zeros`` of the padded size, filled, compared)
holds none of the model's channels: it is a constant too, so adding it
binds nothing (mmrazor's graph took it for a source of channels and bound
every attention it is added to into one unit). So is a tensor of integers
a forward computes (indices: ViG's k-NN graph, the nodes nearest each node
by their features): it indexes channels, it holds none, and the nodes that
only computed it (the distances between the nodes, a relative position
added to them) are dropped from the graph.
"""
from typing import Sequence

import torch
import torch.fx as fx
import torch.nn as nn


def node_value(model: nn.Module, node: fx.Node, env: dict, inputs: dict):
    """The value of one node of a graph on ``inputs``, from the values of
    the nodes before it (``env``; a placeholder not in ``inputs`` takes its
    default)."""

    def load(arg):
        return fx.node.map_arg(arg, lambda node: env[node])

    if node.op == 'placeholder':
        return inputs.get(node.target.lstrip('*'),
                          node.args[0] if node.args else None)
    if node.op == 'get_attr':
        value = model
        for attr in node.target.split('.'):
            value = getattr(value, attr)
        return value
    if node.op == 'call_module':
        return model.get_submodule(node.target)(*load(node.args),
                                                **load(node.kwargs))
    if node.op == 'call_function':
        return node.target(*load(node.args), **load(node.kwargs))
    receiver, *rest = load(node.args)
    return getattr(receiver, node.target)(*rest, **load(node.kwargs))


def graph_values(model: nn.Module, graph: fx.Graph, inputs: dict) -> dict:
    """The value of every node of ``graph`` (but its output) on ``inputs``
    (a placeholder not in them takes its default)."""
    env = {}
    for node in graph.nodes:
        if node.op == 'output':
            break
        env[node] = node_value(model, node, env, inputs)
    return env


def _is_size(value) -> bool:
    """Whether ``value`` holds no tensor: a size, a shape, a flag, None."""
    if isinstance(value, torch.Tensor) or isinstance(value, nn.Module):
        return False
    if isinstance(value, (tuple, list)):
        return all(_is_size(item) for item in value)
    if isinstance(value, dict):
        return all(_is_size(item) for item in value.values())
    return isinstance(value, (int, float, bool, str, torch.Size,
                              torch.dtype, torch.device, type(None)))


def _reads_a_tensor(node: fx.Node, sizes: dict) -> bool:
    """Whether ``node`` computes a size from tensors (not from settings)."""
    return any(isinstance(arg, fx.Node) and (arg not in sizes or
                                             _reads_a_tensor(arg, sizes))
               for arg in node.all_input_nodes) if node.op != 'get_attr' \
        else False


def fold_shape_sizes(graph: fx.Graph, values: dict,
                     constants: Sequence[fx.Node] = ()) -> fx.Graph:
    """``graph`` with every size read from a tensor replaced by its value.

    Args:
        graph (fx.Graph): The traced graph, changed in place.
        values (dict): :func:`graph_values` of the graph on the tracer's
            demo input.
        constants (Sequence[fx.Node]): Nodes that hold none of the model's
            channels either (a table of one column per head,
            :mod:`.head_tables`): the tensors computed from them and sizes
            alone are constants too.

    Returns:
        fx.Graph: The graph.
    """
    all_values = values
    values = {node: value for node, value in values.items()
              if _is_size(value)}
    sizes = {node: value for node, value in values.items()
             if node.op in ('call_method', 'call_function') and
             _reads_a_tensor(node, values)}
    sizes.update({node: all_values[node] for node in constants
                  if node in all_values})
    indices = _index_tensors(graph, all_values)
    sizes.update(indices)
    computing = _ancestors([node for node in indices if node.users])
    sizes.update(_constant_tensors(graph, all_values, {**values, **sizes}))
    for node, value in sizes.items():
        for user in list(node.users):
            user.args = fx.node.map_arg(
                user.args, lambda arg: value if arg is node else arg)
            user.kwargs = fx.node.map_arg(
                user.kwargs, lambda arg: value if arg is node else arg)
    for node in reversed(list(graph.nodes)):
        if node.users:
            continue
        if node in sizes or _only_computes(node, computing):
            graph.erase_node(node)
    return graph


def _index_tensors(graph: fx.Graph, values: dict) -> dict:
    """The tensors of integers a forward computes."""
    return {
        node: values[node]
        for node in graph.nodes
        if node.op in ('call_method', 'call_function')
        and isinstance(values.get(node), torch.Tensor)
        and not values[node].is_floating_point()
        and not values[node].is_complex() and values[node].dtype != torch.bool
    }


def _ancestors(nodes) -> set:
    """The nodes that ``nodes`` are computed from, ``nodes`` included."""
    found, todo = set(), list(nodes)
    while todo:
        node = todo.pop()
        if node not in found:
            found.add(node)
            todo.extend(node.all_input_nodes)
    return found


def _only_computes(node: fx.Node, computing: set) -> bool:
    """Whether ``node`` (used by none) only served to compute indices: it
    is one of their ancestors, or reads only them (the other outputs of
    ``torch.topk``); no layer, input or output."""
    if node.op not in ('call_method', 'call_function', 'get_attr'):
        return False
    return node in computing or bool(node.all_input_nodes) and all(
        arg in computing for arg in node.all_input_nodes)


def _constant_tensors(graph: fx.Graph, values: dict, sizes: dict) -> dict:
    """The tensors computed from sizes alone (no tensor of the model's:
    neither its input, nor a parameter or buffer, nor a module's output)."""
    found = {}
    for node in graph.nodes:
        if node.op in ('call_method', 'call_function') and isinstance(
                values.get(node), torch.Tensor) and all(
                    arg in sizes or arg in found
                    for arg in node.all_input_nodes):
            found[node] = values[node]
    return found
