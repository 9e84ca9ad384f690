"""mmrazor's channel tracer, checking units with every layer type the
plugin slices, following per-channel parameters and reading sizes taken
from tensors as numbers."""
import contextlib
import copy
from typing import Dict

import torch
import torch.nn as nn
from mmcv.cnn.bricks.transformer import AdaptivePadding
from mmpretrain.models.utils import RotaryEmbeddingFast
from mmrazor.models.mutables import MutableChannelContainer
from mmrazor.models.mutables.mutable_channel.units.utils import \
    find_mutable as razor_find_mutable
from mmrazor.models.task_modules.tracer import ChannelAnalyzer
from mmrazor.models.task_modules.tracer import \
    channel_analyzer as razor_channel_analyzer
from mmrazor.models.task_modules.tracer.fx_tracer import MMFxTracer
from mmrazor.structures.graph.channel_graph import \
    default_channel_node_converter
from mmrazor.structures.graph.channel_nodes import BindChannelNode

from ..dynamic_ops import (DYNAMIC_OPS, FORWARD_OPS, TRACER_OPS,
                           HeadAttention)
from .channel_tables import channel_tables
from .chunked_channels import chunk_pieces, stacked_chunk_reductions
from .cross_covariance_node import HeadsChannelNode, cross_covariance_nodes
from .forward_built_modules import ForwardBuiltModulesMixin
from .head_channels import (HeadAttentionNode, check_head_units,
                            head_channel_map, unit_heads)
from .head_tables import head_table_nodes
from .heads_follow_input import HeadsFollowInputChannelGraph
from .image_channel_layers import image_channel_norms
from .interleaved_channels import (InterleavedChannelNode,
                                   interleaved_channels)
from .other_axis import (OtherAxisChannelGraph, OtherAxisChannelNode,
                         other_axis_brackets)
from .pooled_heads import pooled_head_nodes
from .parameter_channel_node import (ParameterChannelNode,
                                     per_channel_parameters)
from .repeated_cat import RepeatedCatChannelNode, repeated_cats
from .shape_constants import fold_shape_sizes, graph_values
from .size_control_flow import SizeControlFlowMixin
from .sliced_channels import piece_unit_groups, slice_pieces
from .split_channels import (SplitPieceChannelNode, equal_split_runs,
                             split_pieces)
from .summed_runs import RunSumChannelNode, run_sums
from .token_cat import token_cats
from .token_channels import token_channel_node, token_parameters
from .traced_channel_unit import TracedChannelUnit
from .unfold_channels import unfold_channel_node
from .unit_groups import check_unit_groups, units_beside


@contextlib.contextmanager
def _patched(name: str, value):
    original = getattr(razor_channel_analyzer, name)
    setattr(razor_channel_analyzer, name, value)
    try:
        yield
    finally:
        setattr(razor_channel_analyzer, name, original)


class ForwardOpsTracer(ForwardBuiltModulesMixin, SizeControlFlowMixin,
                       MMFxTracer):
    """mmrazor's fx tracer, tracing into the modules of ``FORWARD_OPS``'s
    versions: they are dynamic ops (so the teacher's static copy converts
    them), which the tracer would otherwise keep whole as leaves; it
    branches on sizes by their value on the demo input
    (:mod:`.size_control_flow`) and traces into parameter-free modules a
    forward builds as it runs (:mod:`.forward_built_modules`). A module
    that only pads a map's sides or rotates each head's dims in place
    (``PASS_THROUGH``) is one node its channels pass through."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str):
        if type(m) in _FORWARD_OP_TYPES:
            return False
        if isinstance(m, (HeadAttention, *PASS_THROUGH)):
            return True
        return super().is_leaf_module(m, module_qualified_name)


_FORWARD_OP_TYPES = frozenset(FORWARD_OPS.values())

#: modules whose output has their input's channels, kept one node: mmcv's
#: ``AdaptivePadding`` (patch embeddings with ``padding='corner'``) takes
#: ``math.ceil`` of sizes, which torch.fx cannot trace; mmrazor's tracer
#: then wraps it as a node bound to the module, and the channels are lost.
#: A rotary position embedding (EVA02's) rotates pairs of each head's dims
#: by buffers of one row per head dim, which mmrazor's graph took for
#: inputs of channels of their own bound to q and k; heads keep their dims
#: at every width, so it passes the heads through.
PASS_THROUGH = (AdaptivePadding, RotaryEmbeddingFast)


class TeacherChannelAnalyzer(ChannelAnalyzer):
    """mmrazor's ``ChannelAnalyzer`` whose check of each traced unit (can
    its channels be masked and the model still run?) also knows the layers
    of :class:`TracedChannelUnit` (timm's ``BatchNormAct2d``), and whose
    graph follows per-channel parameters multiplied into a tensor (layer
    scales: :mod:`.parameter_channel_node`), gives each piece of a tensor
    split along its channels its own channels (:mod:`.split_channels`; cut
    by indexing with its own size: :mod:`.sliced_channels`; chunked into
    equal runs: :mod:`.chunked_channels`), binds the
    equal runs of a tensor's channels a view cuts and a sum adds
    (:mod:`.summed_runs`) or a stack of its chunks reduces
    (:mod:`.chunked_channels`),
    binds the heads of a cross-covariance attention
    (:mod:`.cross_covariance_node`), and the input of an attention whose
    heads follow it to its heads (:mod:`.heads_follow_input`), binds
    tensors concatenated along their tokens channel by channel
    (:mod:`.token_cat`), interleaves tensors joined beside the channels
    and merged into them (:mod:`.interleaved_channels`), concatenates a
    tensor as many times as a ``torch.cat`` lists it
    (:mod:`.repeated_cat`), reads a vision transformer's tokens and position
    embedding as channels its backbone's op slices (:mod:`.token_channels`),
    expands each channel of a map unfolded into patch columns into its
    kernel area (:mod:`.unfold_channels`), passes the channels over linear
    layers along another axis between two transposes, that axis kept
    whole (:mod:`.other_axis`: MLP-Mixer's token mixing), reads a buffer
    added at the tokens' channels as a source of them
    (:mod:`.channel_tables`), holds a table of one column per head (a
    relative position bias) as a constant (:mod:`.head_tables`), passes
    q and k through a rotary position embedding (``PASS_THROUGH``), names
    the norms over the image's own channels (:mod:`.image_channel_layers`),
    keeps a product of head-major heads one
    node (:mod:`.head_channels`), holds the sizes a forward reads from
    tensors as numbers (:mod:`.shape_constants`), and traces into the
    modules ``FORWARD_OPS`` swapped in. Units of whole heads are checked
    together per attention (:func:`~.head_channels.check_head_units`), the
    units of a tensor's equal runs of channels (sliced by its own size, or
    split by the width: :func:`~.split_channels.equal_split_runs`) per
    tensor (:func:`~.sliced_channels.piece_unit_groups`).

    :class:`SlimmableTeacherMutator` traces with it where its config names
    mmrazor's ``ChannelAnalyzer`` (mmrazor's mutators accept no other
    analyzer type name). Arguments as mmrazor's ``ChannelAnalyzer``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.tracer, MMFxTracer):
            self.tracer = ForwardOpsTracer(
                leaf_module=(*self.default_leaf_modules, *TRACER_OPS))

    def analyze(self, model: nn.Module) -> Dict:
        self._parameters, self._pieces, self._heads = {}, {}, {}
        self._slices, self._piece_nodes = {}, {}
        self._pooled_heads, self._run_sums = {}, {}
        self._tokens, self._token_cats = {}, set()
        self._repeated_cats, self._interleaved = {}, {}
        self._other_axes = {}
        # mmrazor builds the channel graph with these module-level names.
        with _patched('default_channel_node_converter', self._channel_node), \
                _patched('ChannelGraph', OtherAxisChannelGraph):
            try:
                return super().analyze(model)
            finally:
                HeadsFollowInputChannelGraph.model = None

    def _fx_trace(self, model: nn.Module):
        # The demo input is random: drawing it here must not change the
        # numbers the model's initialisation draws next.
        with torch.random.fork_rng(devices=[]):
            data = self.demo_input.get_data(model)
        inputs = data if isinstance(data, dict) else dict(x=data)
        if isinstance(self.tracer, SizeControlFlowMixin):
            self.tracer.set_demo_inputs(model, inputs)
        graph = super()._fx_trace(model)
        HeadsFollowInputChannelGraph.model = model
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            try:
                values = graph_values(model, graph, inputs)
            except Exception:  # noqa: BLE001 the graph stays as traced
                values = {}
        self._slices = slice_pieces(graph, values)
        fold_shape_sizes(graph, values, head_table_nodes(model, graph))
        self._pieces = split_pieces(model, graph, values)
        self._slices.update(chunk_pieces(graph, values, self._pieces))
        for pieces in self._slices.values():
            self._pieces.update(pieces)
        self._slices.update(equal_split_runs(graph, self._pieces))
        self._run_sums = run_sums(graph, values)
        self._run_sums.update(stacked_chunk_reductions(graph, values))
        self._heads = cross_covariance_nodes(model, graph)
        self._pooled_heads = pooled_head_nodes(model, graph, values)
        self._token_cats = token_cats(graph, values)
        self._repeated_cats = repeated_cats(graph)
        self._interleaved = interleaved_channels(graph, values)
        self._other_axes = other_axis_brackets(model, graph, values)
        self.other_axis_layers = {
            name
            for *_, writers in self._other_axes.values() for name in writers
        }
        self._parameters = per_channel_parameters(
            model, graph, lambda module: type(module) in DYNAMIC_OPS,
            self._token_cats)
        self._tokens = token_parameters(model, graph, DYNAMIC_OPS)
        self._parameters.update(channel_tables(model, graph))
        return graph

    def _channel_node(self, node):
        if isinstance(node.val, HeadAttention):
            return HeadAttentionNode.copy_from(node)
        if node.name in self._tokens:
            return token_channel_node(node.name, self._tokens[node.name])
        if isinstance(node.val, nn.Unfold):
            return unfold_channel_node(node)
        if node.name in self._parameters:
            name, channels = self._parameters[node.name]
            return ParameterChannelNode(node.name, name, channels)
        if node.name in self._heads:
            name, attention = self._heads[node.name]
            return HeadsChannelNode(node.name, attention, name)
        if node.name in self._pooled_heads:
            kind, heads, dims = self._pooled_heads[node.name]
            return kind(node.name, node.val, heads, dims)
        if node.name in self._other_axes:
            close, size, _ = self._other_axes[node.name]
            return OtherAxisChannelNode(node.name, node.val, node.module_name,
                                        close, size)
        if node.name in self._interleaved:
            return InterleavedChannelNode(node.name, node.val,
                                          self._interleaved[node.name])
        if node.name in self._token_cats:
            return BindChannelNode.copy_from(node)
        if node.name in self._repeated_cats:
            return RepeatedCatChannelNode(node.name, node.val,
                                          self._repeated_cats[node.name])
        if node.name in self._run_sums:
            return RunSumChannelNode(node.name, node.val,
                                     *self._run_sums[node.name])
        if node.name in self._pieces:
            piece = SplitPieceChannelNode(node.name, node.val,
                                          self._pieces[node.name])
            self._piece_nodes[node.name] = piece
            return piece
        return default_channel_node_converter(node)

    def _find_mutable_units(self, model: nn.Module,
                            units_config: Dict) -> Dict:
        # Building units draws random numbers (new layers' initialisation):
        # the model's own initialisation after tracing must not see it.
        heads = head_channel_map(model)
        self.image_norms = image_channel_norms(model, units_config)
        with torch.random.fork_rng(devices=[]):
            units_config = _without_contradicting_units(model, units_config)
            head_units = {
                key: config
                for key, config in units_config.items()
                if unit_heads(TracedChannelUnit.init_from_cfg(model, config),
                              heads) is not None
            }
            checked = check_head_units(model, head_units,
                                       self.demo_input.get_data(model),
                                       TracedChannelUnit)
            runs = piece_unit_groups(self._slices, self._piece_nodes, {
                key: config
                for key, config in units_config.items()
                if key not in head_units
            })
            kept_runs = check_unit_groups(
                model, {key: units_config[key]
                        for key in runs}, lambda key, unit: runs[key], _half,
                self.demo_input.get_data(model), TracedChannelUnit,
                fill_unheld=True)
        left_out = set(runs) - set(kept_runs)
        left_out |= units_beside(model, left_out, units_config)
        others = {
            key: config
            for key, config in units_config.items()
            if key not in head_units and key not in runs
            and key not in left_out
        }
        # The runs' units are held at all their channels while the others
        # are checked (mmrazor fails on a layer's first channels held by
        # no unit), and checked by mmrazor only in their groups.
        held = {key: units_config[key] for key in kept_runs}
        fixed = {
            TracedChannelUnit.init_from_cfg(model, config).name
            for config in held.values()
        }

        def find_mutable(model, try_units, *args):
            return razor_find_mutable(
                model, [unit for unit in try_units if unit.name not in fixed],
                *args)

        # mmrazor's check, unchanged, builds its units by this module name.
        with _patched('SequentialMutableChannelUnit', TracedChannelUnit), \
                _patched('find_mutable', find_mutable):
            found = super()._find_mutable_units(model, {**others, **held})
        return {**found, **checked, **kept_runs}


def _half(unit) -> float:
    """Half a unit's channels, as a ratio."""
    return max(1, unit.num_channels // 2) / unit.num_channels


def _without_contradicting_units(model: nn.Module,
                                 units_config: Dict) -> Dict:
    """The traced units but those whose channels do not add up in a layer.

    Where the graph misreads a block (a split it does not follow), the
    channels units register in one layer
    can sum to another count than the layer's: mmrazor's check would then
    fail on its first forward, for every unit at once. Such units are left
    out here, so their layers stay whole (and are named so) and the others
    are checked as usual.
    """
    model = copy.deepcopy(model)
    owners = {}
    for key, config in units_config.items():
        unit = TracedChannelUnit.init_from_cfg(model, config)
        unit.prepare_for_pruning(model)
        owners[id(unit.mutable_channel)] = key
    bad = set()
    for module in model.modules():
        attrs = getattr(module, 'mutable_attrs', None)
        for container in (attrs.values() if attrs is not None else ()):
            if not isinstance(container, MutableChannelContainer):
                continue
            try:
                container._assert_mutables_valid()
            except AssertionError:
                for mutable in container.mutable_channels.values():
                    for source in getattr(mutable, 'source_mutables',
                                          {mutable}):
                        bad.add(owners.get(id(source)))
    return {
        key: config
        for key, config in units_config.items() if key not in bad
    }
