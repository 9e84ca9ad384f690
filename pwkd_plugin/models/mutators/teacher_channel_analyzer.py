"""mmrazor's channel tracer, checking units with every layer type the
plugin slices, following per-channel parameters and reading sizes taken
from tensors as numbers."""
import contextlib
from typing import Dict

import torch
import torch.nn as nn
from mmrazor.models.task_modules.tracer import ChannelAnalyzer
from mmrazor.models.task_modules.tracer import \
    channel_analyzer as razor_channel_analyzer
from mmrazor.structures.graph.channel_graph import \
    default_channel_node_converter

from ..dynamic_ops import DYNAMIC_OPS
from .parameter_channel_node import (ParameterChannelNode,
                                     per_channel_parameters)
from .shape_constants import fold_shape_sizes
from .traced_channel_unit import TracedChannelUnit


@contextlib.contextmanager
def _patched(name: str, value):
    original = getattr(razor_channel_analyzer, name)
    setattr(razor_channel_analyzer, name, value)
    try:
        yield
    finally:
        setattr(razor_channel_analyzer, name, original)


class TeacherChannelAnalyzer(ChannelAnalyzer):
    """mmrazor's ``ChannelAnalyzer`` whose check of each traced unit (can
    its channels be masked and the model still run?) also knows the layers
    of :class:`TracedChannelUnit` (timm's ``BatchNormAct2d``), and whose
    graph follows per-channel parameters multiplied into a tensor (layer
    scales: :mod:`.parameter_channel_node`) and holds the sizes a forward
    reads from tensors as numbers (:mod:`.shape_constants`).

    :class:`SlimmableTeacherMutator` traces with it where its config names
    mmrazor's ``ChannelAnalyzer`` (mmrazor's mutators accept no other
    analyzer type name). Arguments as mmrazor's ``ChannelAnalyzer``.
    """

    def analyze(self, model: nn.Module) -> Dict:
        self._parameters = {}
        # mmrazor builds the channel graph with this module-level converter.
        with _patched('default_channel_node_converter', self._channel_node):
            return super().analyze(model)

    def _fx_trace(self, model: nn.Module):
        graph = super()._fx_trace(model)
        # The demo input is random: drawing it here must not change the
        # numbers the model's initialisation draws next.
        with torch.random.fork_rng(devices=[]):
            data = self.demo_input.get_data(model)
            fold_shape_sizes(model, graph,
                             data if isinstance(data, dict) else dict(x=data))
        self._parameters = per_channel_parameters(
            model, graph, lambda module: type(module) in DYNAMIC_OPS)
        return graph

    def _channel_node(self, node):
        if node.name in self._parameters:
            name, channels = self._parameters[node.name]
            return ParameterChannelNode(node.name, name, channels)
        return default_channel_node_converter(node)

    def _find_mutable_units(self, model: nn.Module,
                            units_config: Dict) -> Dict:
        # mmrazor's check, unchanged, builds its units by this module name.
        with _patched('SequentialMutableChannelUnit', TracedChannelUnit):
            return super()._find_mutable_units(model, units_config)
