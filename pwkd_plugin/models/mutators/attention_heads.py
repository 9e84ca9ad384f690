"""The attention heads a traced channel unit holds.

The channel tracer follows mmpretrain's ``MultiheadAttention`` wherever it
sits (its slimmable version splits q, k and v from ``qkv`` by the active
features): the unit of ``qkv``'s outputs and ``proj``'s inputs is its
heads. Such a unit can only take whole heads: its channel counts are
multiples of ``head_dims``.
"""
from typing import Dict, Optional, Tuple

import torch.nn as nn


def attention_heads(model: nn.Module) -> Dict[str, Tuple[int, int]]:
    """``proj`` layer name -> ``(num_heads, head_dims)`` of every mmpretrain
    ``MultiheadAttention`` in ``model``."""
    from mmpretrain.models.utils.attention import MultiheadAttention
    return {
        f'{name}.proj' if name else 'proj':
        (module.num_heads, module.head_dims)
        for name, module in model.named_modules()
        if isinstance(module, MultiheadAttention)
    }


def unit_heads(unit,
               heads: Dict[str, Tuple[int, int]]) -> Optional[Tuple[int, int]]:
    """``(num_heads, head_dims)`` of the attention whose heads ``unit``
    holds (the attention's ``proj`` reads them), or None.

    Args:
        unit (ChannelUnit): A traced unit.
        heads (dict): :func:`attention_heads` of the model.

    Returns:
        tuple[int, int] | None: The attention's heads and head features,
        where the unit holds all of ``proj``'s inputs.
    """
    for channel in unit.input_related:
        if channel.name in heads:
            num_heads, head_dims = heads[channel.name]
            if channel.start == 0 and \
                    channel.end == num_heads * head_dims:
                return num_heads, head_dims
    return None
