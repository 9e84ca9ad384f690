"""Channels that come in whole attention heads, to the channel tracer.

One rule for every traced attention: the channels an attention's output
projection reads are its heads side by side, and an attention whose
projections are head-major names each such layer itself
(``head_channels()``). :func:`head_layers` gives, per attention, the
layers whose channels are whole heads: ``proj``'s inputs of any attention
with ``num_heads`` heads of ``head_dims`` (mmpretrain's multi-head
attention in ViT's, DeiT's and MobileViT's blocks, EdgeNeXt's
cross-covariance attention, Twins' locally-grouped and sub-sampled
attentions, DaViT's window and channel attentions) and ``qkv``'s inputs
too where the attention says its input is its heads (``embeds_in_heads``:
mmpretrain's multi-head attention, whose ``input_dims`` is its
``embed_dims``), the projections feeding a
:class:`~pwkd_plugin.models.dynamic_ops.HeadAttention` core and the layer
reading it (LeViT's). An attention of one head whose forward narrows it
(``narrows_single_head``) has none: its head's features are plain
channels (T2T-ViT's tokens-to-token attentions, Twins-PCPVT's first
stage). A unit holding such a layer narrows by whole heads,
and all units of one attention by the same head count: the tracer checks
them at half their heads (:class:`~.traced_channel_unit.TracedChannelUnit`,
:func:`check_head_units`), the mutator gives them ``heads * features of a
head`` per width (:func:`head_counts`).

The tracer keeps a ``HeadAttention`` core one node whose inputs and output
are independent channels (:class:`HeadAttentionNode`), so each projection
and the output layer's input are units of their own.
"""
import math
from functools import reduce
from typing import Callable, Dict, List, Optional, Tuple

import torch.nn as nn
from mmrazor.structures.graph.channel_flow import ChannelTensor
from mmrazor.structures.graph.channel_nodes import ChannelNode

from .unit_groups import check_unit_groups


#: ``(layer name, output channels?) -> (heads, features of a head, the
#: features every head count of the attention is rounded by, the
#: attention's name)``.
HeadChannels = Dict[Tuple[str, bool], Tuple[int, int, int, str]]


class HeadAttentionNode(ChannelNode):
    """A :class:`~pwkd_plugin.models.dynamic_ops.HeadAttention` in the
    channel graph: its head-major inputs and its output are channels of
    their own (the bias is no channel)."""

    @property
    def _out_channels(self) -> int:
        return self.val.out_channels

    def channel_forward(self, channel_tensors: List[ChannelTensor]):
        self.in_channel_tensor = channel_tensors[0]
        self.out_channel_tensor = ChannelTensor(self.out_channels)
        return self.out_channel_tensor

    def check_channel(self) -> None:
        """Its inputs differ in count: nothing to expand between them."""

    def __repr__(self) -> str:
        return super().__repr__() + '_heads'


def head_layers(module: nn.Module) -> List[Tuple[str, bool, int]]:
    """The layers of an attention whose channels are whole heads.

    Args:
        module (nn.Module): Any module.

    Returns:
        list[tuple[str, bool, int]]: ``(layer, output channels?, features
        of a head)`` per layer; empty for a module that is no attention.
    """
    if hasattr(module, 'head_channels'):
        return module.head_channels()
    proj = getattr(module, 'proj', None)
    heads = getattr(module, 'num_heads', None)
    dims = getattr(module, 'head_dims', None)
    if not (isinstance(proj, nn.Linear) and isinstance(heads, int)
            and isinstance(dims, int) and proj.in_features == heads * dims):
        return []
    if heads == 1 and getattr(module, 'narrows_single_head', False):
        return []  # its one head narrows its features: plain channels
    qkv = getattr(module, 'qkv', None)
    if getattr(module, 'embeds_in_heads', False) and isinstance(
            qkv, nn.Linear) and qkv.in_features == heads * dims:
        return [('proj', False, dims), ('qkv', False, dims)]
    return [('proj', False, dims)]


def head_channel_map(model: nn.Module) -> HeadChannels:
    """The layers of ``model`` whose channels are whole heads."""
    found = {}
    for name, module in model.named_modules():
        layers = head_layers(module)
        if not layers:
            continue
        common = reduce(math.gcd, [dims for _, _, dims in layers])
        prefix = f'{name}.' if name else ''
        for layer, is_output, dims in layers:
            found[(prefix + layer, is_output)] = (module.num_heads, dims,
                                                  common, name)
    return found


def unit_heads(unit,
               heads: HeadChannels) -> Optional[Tuple[int, int, int, str]]:
    """``(heads, features of a head, common features, attention)`` of a
    unit holding whole heads, else None."""
    for channel in [*unit.output_related, *unit.input_related]:
        found = heads.get((channel.name, channel.is_output_channel))
        if found is not None and found[0] * found[1] == unit.num_channels:
            return found
    return None


def head_counts(found: Tuple[int, int, int, str],
                heads_at: Callable[[int, int], List[int]]) -> List[int]:
    """A head unit's channel count per width: every unit of an attention
    takes the same head count (rounded by the features all its units
    share, so each count is a multiple of the mutator's divisor)."""
    num_heads, dims, common, _ = found
    return [count * dims for count in heads_at(num_heads, common)]


def check_head_units(model: nn.Module, configs: Dict, inputs,
                     unit_type: type) -> Dict:
    """The unit configs of whole heads that run at half their heads.

    mmrazor checks units by halves of a list, one part narrowed while the
    rest keeps every channel: a unit of heads narrowed alone gives the
    attention's output layer fewer heads than its unit keeps, so every one
    would be dropped. Here all units of one attention narrow together.

    Args:
        model (nn.Module): The traced model (copied, not changed).
        configs (dict): Unit configs of whole heads.
        inputs: The tracer's demo input (a tensor or keyword arguments).
        unit_type (type): The unit class checked with
            (:class:`~.traced_channel_unit.TracedChannelUnit`).

    Returns:
        dict: Unit key -> config, of the units that passed.
    """
    return check_unit_groups(model, configs,
                             lambda key, unit: unit.heads[3],
                             lambda unit: unit.sample_choice(), inputs,
                             unit_type)
