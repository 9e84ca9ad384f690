"""mmrazor 1.0.0 finds each traced channel's layer by listing the model.

``Channel.init_from_cfg`` builds ``dict(model.named_modules())`` for every
channel it creates, and the tracer creates one per layer of every unit (one
per group of a grouped convolution): a time quadratic in the model's size.
The fix looks the layer up by its dotted name (``get_submodule``); a name
that names no layer (the tracer's input and output placeholders) still gives
None.
"""
from typing import Dict, Optional

import torch.nn as nn

_FIXED = '_pwkd_channel_lookup_by_name'

#: mmrazor's own ``init_from_cfg``, kept for the tests.
ORIGINALS = {}


def module_named(model: nn.Module, name: str) -> Optional[nn.Module]:
    """The submodule of ``model`` called ``name`` (None if there is none,
    and for the model itself, ``''``)."""
    if not name:
        return None
    try:
        return model.get_submodule(name)
    except AttributeError:
        return None


def _init_from_cfg(cls, model: nn.Module, config: Dict):
    from mmrazor.models.mutables.mutable_channel.units.channel_unit import \
        Channel
    return Channel(
        config['name'],
        module_named(model, config['name']),
        (config['start'], config['end']),
        is_output_channel=config['is_output_channel'])


def look_up_channels_by_name() -> bool:
    """Give mmrazor's ``Channel.init_from_cfg`` a lookup by name
    (idempotent).

    Returns:
        bool: True once channels are looked up by name.
    """
    from mmrazor.models.mutables.mutable_channel.units.channel_unit import \
        Channel
    if not getattr(Channel, _FIXED, False):
        ORIGINALS['init_from_cfg'] = Channel.init_from_cfg.__func__
        Channel.init_from_cfg = classmethod(_init_from_cfg)
        setattr(Channel, _FIXED, True)
    return True
