"""A tensor cut into equal runs of channels by indexing with its own size,
as the channel tracer's graph nodes.

CSPNet's stage halves its expanded map by indexing (``split = x.shape[1] //
2; xa, xb = x[:, :split], x[:, split:]``). mmrazor's graph passes the whole
tensor's channels to each ``getitem``, so the halves are bound to layers of
another count and the stage's layers are left whole. Here each slice is a
piece of the tensor's channels, as a piece of a split
(:class:`~.split_channels.SplitPieceChannelNode`), where the slices keep
their share of any narrower tensor: the slices of one tensor cut its
channels into runs of equal length, every bound is computed from the
tensor's own channel count alone, and it gives the same runs of every
narrower count the runs can take. A narrower width then slices the first
channels of each run, as long as every run keeps the same count: the units
holding the runs are checked narrowed together (:func:`piece_unit_groups`),
and the mutator gives units of equal channels equal counts.

A slice by numbers fixed when the model was built (``x[:, :8]``), or by
the size of another tensor, is left as mmrazor reads it: it would cut a
narrower tensor wrongly. So is a slice of a tensor a reshape gives
(ShuffleNetV2's halves of its shuffled channels): the graph passes channels
through a reshape in order, so its runs would be bound to channels of
another layer than the ones the reshape moved there.
"""
import operator
from typing import Dict, Hashable, List, Optional, Tuple

import torch
import torch.fx as fx

from .fx_names import target_name
from .shape_constants import node_value
from .split_channels import _channel_dim

#: fx node name of a piece -> ``(start, end, total)``.
Pieces = Dict[str, Tuple[int, int, int]]

#: ops that move channels to other places (method names and functions).
_RESHAPES = ('view', 'reshape', 'transpose', 'permute', 'flatten',
             'unflatten', 'movedim', 'swapaxes', 'pixel_shuffle',
             'pixel_unshuffle')


class _NotOwnSize(Exception):
    """A bound reads something other than the sliced tensor's size."""


def _is_full(entry) -> bool:
    return isinstance(entry, slice) and entry.start is None and \
        entry.stop is None and entry.step in (None, 1)


def _is_reshape(node: fx.Node) -> bool:
    return node.op in ('call_function', 'call_method') and \
        target_name(node) in _RESHAPES


def _channel_slice(node: fx.Node, values: dict) -> Optional[Tuple]:
    """``(sliced tensor node, channel dim, slice)`` of a ``getitem`` that
    takes a run of a tensor's channels and all of its other dimensions."""
    if node.op != 'call_function' or node.target is not operator.getitem:
        return None
    source, index = node.args
    tensor = values.get(source) if isinstance(source, fx.Node) else None
    if not isinstance(tensor, torch.Tensor) or not isinstance(
            index, tuple) or _is_reshape(source):
        return None
    dim = _channel_dim(tensor)
    if dim is None or sum(entry is Ellipsis for entry in index) > 1 or any(
            not isinstance(entry, slice) and entry is not Ellipsis
            for entry in index):
        return None
    entries = list(index)
    if Ellipsis in entries:
        at = entries.index(Ellipsis)
        entries[at:at + 1] = [slice(None)] * (tensor.dim() + 1 - len(index))
    entries += [slice(None)] * (tensor.dim() - len(entries))
    if len(entries) != tensor.dim() or any(
            not _is_full(entry)
            for number, entry in enumerate(entries) if number != dim):
        return None
    chosen = entries[dim]
    if chosen.step not in (None, 1) or _is_full(chosen):
        return None
    return source, dim, chosen


def _size_read(node: fx.Node, source: fx.Node, shape: torch.Size, dim: int,
               channels: int):
    """The value of ``node`` where ``source`` (of ``shape``) has
    ``channels`` channels, if ``node`` reads ``source``'s size; else
    ``NotImplemented``."""
    if node.op == 'call_function' and node.target is getattr and \
            node.args == (source, 'shape') or node.op == 'call_method' and \
            node.target == 'size' and node.args == (source, ):
        return torch.Size(channels if number == dim else size
                          for number, size in enumerate(shape))
    if node.op == 'call_method' and node.target == 'size' and \
            len(node.args) == 2 and node.args[0] is source and \
            isinstance(node.args[1], int):
        number = node.args[1] % len(shape)
        return channels if number == dim else shape[number]
    return NotImplemented


def _bound_at(bound, source: fx.Node, dim: int, values: dict,
              channels: int):
    """A slice bound's value where ``source`` has ``channels`` channels."""
    if not isinstance(bound, fx.Node):
        if bound not in (None, 0):
            raise _NotOwnSize  # a number fixed at build time
        return bound
    env = {}
    shape = values[source].shape

    def evaluate(node: fx.Node):
        if node in env:
            return env[node]
        value = values.get(node)
        if node is source or isinstance(value, torch.Tensor) or \
                node not in values:
            raise _NotOwnSize
        read = _size_read(node, source, shape, dim, channels)
        if read is NotImplemented:
            if node.op not in ('call_function', 'call_method'):
                raise _NotOwnSize
            for arg in node.all_input_nodes:
                evaluate(arg)
            read = node_value(None, node, env, {})
        env[node] = read
        return read

    return evaluate(bound)


def _runs_at(cut: slice, source: fx.Node, dim: int, values: dict,
             channels: int) -> Tuple[int, int]:
    start = _bound_at(cut.start, source, dim, values, channels)
    stop = _bound_at(cut.stop, source, dim, values, channels)
    return slice(start, stop).indices(channels)[:2]


def _equal_runs(source: fx.Node, dim: int, cuts: Dict[str, slice],
                values: dict) -> Optional[Pieces]:
    """The pieces of ``source`` its ``cuts`` (node name -> slice) take,
    where they are equal runs that keep their share of every count."""
    total = values[source].shape[dim]
    try:
        runs = {
            name: _runs_at(cut, source, dim, values, total)
            for name, cut in cuts.items()
        }
        starts = sorted(set(runs.values()))
        length = starts[0][1] - starts[0][0]
        if length < 1 or total % length or total // length < 2 or \
                starts != [(number * length, (number + 1) * length)
                           for number in range(total // length)]:
            return None
        count = total // length
        for fewer in range(1, length):
            for name, cut in cuts.items():
                number = runs[name][0] // length
                if _runs_at(cut, source, dim, values, count * fewer) != (
                        number * fewer, (number + 1) * fewer):
                    return None
    except (_NotOwnSize, TypeError, ValueError, IndexError):
        return None
    return {name: (*run, total) for name, run in runs.items()}


def slice_pieces(graph: fx.Graph, values: dict) -> Dict[str, Pieces]:
    """The ``getitem`` nodes of ``graph`` that cut a tensor into equal runs
    of channels by its own size, per sliced tensor.

    Read before the sizes are folded into numbers
    (:func:`~.shape_constants.fold_shape_sizes`): the bounds' nodes tell a
    size read from the tensor from a number fixed at build time.

    Args:
        graph (fx.Graph): The traced graph.
        values (dict): The value of every node on the tracer's demo input
            (:func:`~.shape_constants.graph_values`).

    Returns:
        dict: Sliced tensor's node name -> fx node name of each slice ->
        ``(start, end, total)`` channels of its run in the tensor.
    """
    cuts: Dict[fx.Node, Dict[str, slice]] = {}
    dims, others = {}, set()
    for node in graph.nodes:
        found = _channel_slice(node, values)
        if found is not None:
            source, dim, cut = found
            dims[source] = dim
            cuts.setdefault(source, {})[node.name] = cut
        elif node.op == 'call_function' and node.target is \
                operator.getitem and isinstance(node.args[0], fx.Node) and \
                isinstance(values.get(node.args[0]), torch.Tensor):
            others.add(node.args[0])  # indexed another way too
    found = {}
    for source, named in cuts.items():
        pieces = None if source in others else _equal_runs(
            source, dims[source], named, values)
        if pieces is not None:
            found[source.name] = pieces
    return found


def piece_unit_groups(groups: Dict[str, Pieces], piece_nodes: Dict,
                      units_config: Dict) -> Dict[Hashable, str]:
    """The units that hold the runs of one sliced tensor, which must narrow
    together.

    mmrazor checks a unit narrowed alone: a unit of one run narrowed alone
    gives the tensor another count, the other runs' bounds move, and the
    unit is dropped (its layers left whole). Where every run is one unit of
    its own (all of the same count), the units are checked together
    (:func:`~.unit_groups.check_unit_groups`).

    Args:
        groups (dict): :func:`slice_pieces`.
        piece_nodes (dict): fx node name -> the piece's channel node, after
            the channel graph's forward.
        units_config (dict): The traced units, keyed by the hash of their
            channels (mmrazor's ``generate_units_config``).

    Returns:
        dict: Unit key -> its sliced tensor's node name.
    """
    found = {}
    for source, pieces in groups.items():
        keys: List[Hashable] = []
        for name in pieces:
            node = piece_nodes.get(name)
            runs = {} if node is None or node.out_channel_tensor is None \
                else node.out_channel_tensor.elems_hash_dict
            keys += list(runs.values()) if len(runs) == 1 else [None]
        if all(key in units_config for key in keys):
            found.update(dict.fromkeys(keys, source))
    return found
