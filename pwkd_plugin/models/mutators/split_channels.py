"""A tensor split along its channels, as the channel tracer's graph nodes.

``torch.split(x, sizes, dim=1)`` (or ``chunk``) gives torch.fx a node for
the split and one ``getitem`` per piece. mmrazor's graph passes the whole
tensor's channels to every piece, so a piece (fewer channels) is bound to
layers of another count, an expand node is put between them and the units
around the split come out wrong or left whole (HorNet's gnConv, Res2Net's
and EdgeNeXt's blocks). Here each piece takes its own run of the split
tensor's channels, found from the shapes on the tracer's demo input.

Only where the module that splits says its forward splits by sizes that
follow the width (``splits_by_width = True``, as ``SlimmableGnConv``): a
split by sizes fixed when the module was built (mmpretrain's Res2Net
block's ``torch.split`` by ``self.width``, which ``SlimmableBottle2neck``
reads from its first convolution) fails at a narrower width, and is left
as mmrazor reads it, so its layers stay whole. A split into equal runs
splits by one size: its runs narrow together (:func:`equal_split_runs`).
"""
import operator
from typing import Dict, List, Optional, Tuple

import torch
import torch.fx as fx
import torch.nn as nn
from mmrazor.structures.graph.channel_flow import ChannelTensor
from mmrazor.structures.graph.channel_nodes import ChannelNode

from .fx_names import target_name

_SPLITS = ('split', 'chunk', 'tensor_split', 'split_with_sizes')


class SplitPieceChannelNode(ChannelNode):
    """A piece of a tensor split along its channels: channels ``start`` to
    ``end`` of the ``total`` channels of the split tensor.

    Args:
        name (str): The node's name (the fx ``getitem`` node's).
        val: The node's value (the ``getitem`` function).
        piece (tuple): ``(start, end, total)``.
    """

    def __init__(self, name: str, val, piece: Tuple[int, int, int]) -> None:
        super().__init__(name, val)
        self.start, self.end, self.total = piece

    @property
    def _in_channels(self) -> int:
        return self.total

    @property
    def _out_channels(self) -> int:
        return self.end - self.start

    def channel_forward(self, channel_tensors: List[ChannelTensor]):
        assert len(channel_tensors) == 1, f'{self}'
        self.in_channel_tensor = channel_tensors[0]
        # A tensor of its own, bound to its run of the input: mmrazor tells
        # units apart by the tensors their channels are in, so pieces bound
        # to each other (EdgeNeXt's chunks added to a convolution's output)
        # are one unit and the piece beside them another.
        self.out_channel_tensor = ChannelTensor(self.end - self.start)
        self.out_channel_tensor.union(
            channel_tensors[0][self.start:self.end])
        return self.out_channel_tensor


def _channel_dim(tensor: torch.Tensor) -> Optional[int]:
    """The dimension the tracer's graph holds channels in: 1 of a feature
    map, the last of tokens or features."""
    if tensor.dim() == 4:
        return 1
    if tensor.dim() in (2, 3):
        return tensor.dim() - 1
    return None


def _is_split(node: fx.Node) -> bool:
    return node.op in ('call_function', 'call_method') and \
        target_name(node) in _SPLITS


def _splitting_module(model: nn.Module, node: fx.Node) -> nn.Module:
    """The innermost module whose forward ``node`` belongs to."""
    stack = node.meta.get('nn_module_stack') or {}
    if not stack:
        return model
    path = list(stack.values())[-1][0]
    return model.get_submodule(path)


def split_pieces(model: nn.Module, graph: fx.Graph,
                 values: dict) -> Dict[str, tuple]:
    """The ``getitem`` nodes of ``graph`` that take a piece of a tensor
    split along its channels by a module that splits by the width.

    Args:
        model (nn.Module): The traced model.
        graph (fx.Graph): The traced graph.
        values (dict): The value of every node on the tracer's demo input
            (:func:`~.shape_constants.graph_values`).

    Returns:
        dict: fx node name -> ``(start, end, total)`` channels of the piece
        in the split tensor.
    """
    found = {}
    for node in graph.nodes:
        if not _is_split(node) or node not in values or not getattr(
                _splitting_module(model, node), 'splits_by_width', False):
            continue
        source = values.get(node.args[0]) if node.args else None
        pieces = values[node]
        if not isinstance(source, torch.Tensor) or not isinstance(
                pieces, (tuple, list)):
            continue
        dim = _channel_dim(source)
        # Split along the channels: every piece differs in that dimension
        # alone, and together they are the tensor's channels.
        if dim is None or sum(piece.shape[dim] for piece in pieces) != \
                source.shape[dim] or any(
                    piece.shape[:dim] + piece.shape[dim + 1:] !=
                    source.shape[:dim] + source.shape[dim + 1:]
                    for piece in pieces):
            continue
        starts = [0]
        for piece in pieces:
            starts.append(starts[-1] + piece.shape[dim])
        for user in node.users:
            if user.op == 'call_function' and user.target is \
                    operator.getitem and isinstance(user.args[1], int):
                index = user.args[1] % len(pieces)
                found[user.name] = (starts[index], starts[index + 1],
                                    source.shape[dim])
    return found


def equal_split_runs(graph: fx.Graph,
                     pieces: Dict[str, tuple]) -> Dict[str, Dict[str, tuple]]:
    """The splits of ``graph`` whose pieces are two or more equal runs of
    the split tensor's channels (Res2Net's scales), per split.

    A module that splits by the width into equal runs splits by one size
    (``SlimmableBottle2neck``: its first convolution's active channels over
    its scales), so its runs only work narrowed together: their units are
    checked as one group, as those of a tensor sliced into equal runs
    (:func:`~.sliced_channels.piece_unit_groups`).

    Args:
        graph (fx.Graph): The traced graph.
        pieces (dict): :func:`split_pieces`.

    Returns:
        dict: Split node's name -> fx node name of each piece -> ``(start,
        end, total)``.
    """
    found = {}
    for node in graph.nodes:
        if not _is_split(node):
            continue
        runs = {
            user.name: pieces[user.name]
            for user in node.users if user.name in pieces
        }
        lengths = {end - start for start, end, _ in runs.values()}
        if len(runs) > 1 and len(lengths) == 1 and sum(
                end - start for start, end, _ in runs.values()) == next(
                    iter(runs.values()))[2]:
            found[node.name] = runs
    return found
