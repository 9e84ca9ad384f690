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
are passed on together (RevViT's fusion: ``torch.cat(torch.chunk(x, 2),
dim=-1)``) keeps its tensor's channels, as mmrazor reads it.
"""
import operator
from typing import Container, Dict

import torch
import torch.fx as fx

from .sliced_channels import Pieces
from .split_channels import _channel_dim


def _is_chunk(node: fx.Node) -> bool:
    return node.op == 'call_function' and node.target is torch.chunk or \
        node.op == 'call_method' and node.target == 'chunk'


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
        source = node.args[0] if _is_chunk(node) and node.args else None
        tensor = values.get(source) if isinstance(source, fx.Node) else None
        pieces = values.get(node)
        if not isinstance(tensor, torch.Tensor) or not isinstance(
                pieces, (tuple, list)) or len(pieces) < 2:
            continue
        dim = _channel_dim(tensor)
        total = tensor.shape[dim] if dim is not None else 0
        shape = list(tensor.shape)
        if dim is not None:
            shape[dim] = total // len(pieces)
        if dim is None or total % len(pieces) or any(
                list(piece.shape) != shape for piece in pieces):
            continue
        users = list(node.users)
        if not users or any(
                user.op != 'call_function' or user.target is not
                operator.getitem or not isinstance(user.args[1], int)
                or user.name in found for user in users):
            continue
        length = total // len(pieces)
        chunks[node.name] = {
            user.name: ((user.args[1] % len(pieces)) * length,
                        (user.args[1] % len(pieces) + 1) * length, total)
            for user in users
        }
    return chunks
