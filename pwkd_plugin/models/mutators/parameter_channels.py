"""Channel units slicing the per-channel parameters their channels name."""
from typing import Optional, Tuple

import torch.nn as nn
from mmrazor.models.mutables.mutable_channel.units import MutableChannelUnit

from ..dynamic_ops import slice_channel_parameter


def parameter_owner(model: nn.Module,
                    name: str) -> Optional[Tuple[nn.Module, str]]:
    """``(module, attribute)`` where ``name`` is the dotted name of a
    parameter of a submodule of ``model``; None for any other name (the
    tracer names a channel of no module by its function, e.g.
    ``operator.add``)."""
    if not isinstance(name, str):
        return None
    owner_name, _, attr = name.rpartition('.')
    if not owner_name:
        return None
    try:
        owner = model.get_submodule(owner_name)
    except AttributeError:
        return None
    return (owner, attr) if attr in owner._parameters else None


def slice_parameter_channels(unit: MutableChannelUnit,
                             model: nn.Module) -> None:
    """Slice by ``unit``'s mutable the per-channel parameters its channels
    name (:class:`~.parameter_channel_node.ParameterChannelNode`).

    mmrazor skips such a channel (it names no module); the module that owns
    the parameter becomes slimmable in place
    (:func:`~pwkd_plugin.models.dynamic_ops.slice_channel_parameter`) and
    the unit's mutable is registered over the channel's range, expanded as
    mmrazor's own registration does where the channel is a multiple of the
    unit (a grouped unit).

    Args:
        unit (MutableChannelUnit): A unit prepared for pruning.
        model (nn.Module): The model it slices.
    """
    for channel in [*unit.output_related, *unit.input_related]:
        found = None if channel.module is not None else parameter_owner(
            model, channel.name)
        if found is None:
            continue
        container = slice_channel_parameter(*found)
        if (channel.start, channel.end) in container.mutable_channels:
            continue  # its input and output channels are the same
        mutable = unit.mutable_channel
        if channel.num_channels != unit.num_channels:
            ratio = channel.num_channels // unit.num_channels
            mutable = mutable.expand_mutable_channel(ratio)
        container.register_mutable(mutable, channel.start, channel.end)
