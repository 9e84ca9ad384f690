"""A tensor chunked into equal runs of its channels, as the channel
tracer's graph nodes.

``torch.chunk(x, n, dim)`` cuts ``x`` into ``n`` runs of ``C / n`` channels
by a count, not by sizes: any narrower tensor whose channels ``n`` divides
is cut into its runs the same way. mmrazor's graph passes the whole
tensor's channels to every piece (``n`` times too many), so a piece is
bound to layers of another count and the layers around it are left whole
(RevViT's reversible stream: ``torch.cat([x, x], dim=-1)`` chunked into
its two halves at every layer). Here each piece takes its run of the
tensor's channels (:class:`~.split_channels.SplitPieceChannelNode`), and
the units holding the runs narrow together, each keeping its first
channels (:func:`~.sliced_channels.piece_unit_groups`), as a tensor cut
by its own size is (:mod:`.sliced_channels`).

Only chunks along the channels (dim 1 of a map, the last of tokens) into
runs of equal length, whose pieces are read by index; a chunk whose pieces
are passed on together keeps its tensor's channels, as mmrazor reads it
(RevViT's fusion by concatenation: ``torch.cat(torch.chunk(x, 2),
dim=-1)``, the tensor itself), but where they are stacked and reduced over
the stack (its fusion by a sum, mean, max or min): channel ``c`` of the
reduction is then channel ``c`` of every run
(:func:`stacked_chunk_reductions`).
"""
import operator
from typing import Container, Dict, Optional, Tuple

import torch
import torch.fx as fx

from .fx_names import target_name
from .sliced_channels import Pieces
from .split_channels import _channel_dim

_REDUCTIONS = ('sum', 'mean', 'max', 'min', 'amax', 'amin')


def _is_chunk(node: fx.Node) -> bool:
    return node.op == 'call_function' and node.target is torch.chunk or \
        node.op == 'call_method' and node.target == 'chunk'


def _equal_chunks(node: fx.Node, values: dict) -> Optional[Tuple[int, int]]:
    """``(runs, channels of each)`` where ``node`` chunks a tensor into
    equal runs of its channels, else None."""
    source = node.args[0] if _is_chunk(node) and node.args else None
    tensor = values.get(source) if isinstance(source, fx.Node) else None
    pieces = values.get(node)
    if not isinstance(tensor, torch.Tensor) or not isinstance(
            pieces, (tuple, list)) or len(pieces) < 2:
        return None
    dim = _channel_dim(tensor)
    if dim is None or tensor.shape[dim] % len(pieces):
        return None
    shape = list(tensor.shape)
    shape[dim] //= len(pieces)
    if any(list(piece.shape) != shape for piece in pieces):
        return None
    return len(pieces), shape[dim]


def chunk_pieces(graph: fx.Graph, values: dict,
                 found: Container[str] = ()) -> Dict[str, Pieces]:
    """The ``getitem`` nodes of ``graph`` that take a run of a tensor
    chunked into equal runs of its channels.

    Args:
        graph (fx.Graph): The traced graph.
        values (dict): The value of every node on the tracer's demo input
            (:func:`~.shape_constants.graph_values`).
        found (Container[str]): ``getitem`` nodes another rule gave their
            pieces (a split by a module that splits by the width:
            :func:`~.split_channels.split_pieces`); their chunks are left
            to it.

    Returns:
        dict: Chunk's node name -> fx node name of each piece ->
        ``(start, end, total)`` channels of its run in the tensor.
    """
    chunks = {}
    for node in graph.nodes:
        equal = _equal_chunks(node, values)
        users = list(node.users)
        if equal is None or not users or any(
                user.op != 'call_function'
                or user.target is not operator.getitem
                or not isinstance(user.args[1], int) or user.name in found
                for user in users):
            continue
        runs, length = equal
        chunks[node.name] = {
            user.name: ((user.args[1] % runs) * length,
                        (user.args[1] % runs + 1) * length, runs * length)
            for user in users
        }
    return chunks


def _reduces_first_dim(node: fx.Node) -> bool:
    """Whether ``node`` reduces dim 0 alone (no ``keepdim``)."""
    if node.op not in ('call_function', 'call_method') or target_name(
            node) not in _REDUCTIONS or node.kwargs.get('keepdim', False):
        return False
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get('dim')
    return dim == 0 and len(node.args) <= 2


def stacked_chunk_reductions(graph: fx.Graph,
                             values: dict) -> Dict[str, Tuple[int, int]]:
    """The nodes of ``graph`` that reduce a stack of a tensor's equal runs
    of channels over the runs (``torch.stack(torch.chunk(x, n, dim)).sum(
    dim=0)``, or a mean, max or min: RevViT's fusion of its two streams by
    ``'add'``, ``'avg'``, ``'max'``, ``'min'``).

    Channel ``c`` of the reduction is channel ``c`` of every run, as a sum
    over the runs a view cuts is (:class:`~.summed_runs.RunSumChannelNode`
    is its graph node).

    Args:
        graph (fx.Graph): The traced graph.
        values (dict): The value of every node on the tracer's demo input.

    Returns:
        dict: fx node name -> ``(runs, channels of each run)``.
    """
    found = {}
    for node in graph.nodes:
        stack = node.args[0] if node.args else None
        if not _reduces_first_dim(node) or not isinstance(
                stack, fx.Node) or stack.op != 'call_function' or \
                stack.target is not torch.stack or len(stack.args) != 1 or \
                stack.kwargs.get('dim', 0) != 0 or not isinstance(
                    stack.args[0], fx.Node):
            continue
        equal = _equal_chunks(stack.args[0], values)
        if equal is not None:
            found[node.name] = equal
    return found
