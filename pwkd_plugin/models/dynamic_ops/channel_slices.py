"""mmrazor 1.0.0's dynamic layers take their channels by boolean masks.

On every forward a dynamic convolution or linear layer indexes its weight
with its units' channel masks (``weight[out_mask][:, in_mask]``): a gather
forward, and backward a scatter (``index_put_``) of the gradient into a
zero tensor of the whole weight. A slimmable network's masks keep one
contiguous run of channels (the first ``n``, or a span such as a CSP
stage's second half), for which a slice is the same tensor as a view, with
a cheap backward. ``benchmarks/teacher_cost.py`` times the slimmable
teacher's training step both ways.

The fix takes a contiguous run by a slice and leaves every other mask (and
grouped convolutions, batch norms and layer norms) to mmrazor's code.
"""
import contextlib
from typing import Optional, Tuple

import torch
from torch import Tensor

_FIXED = '_pwkd_contiguous_channel_slices'

#: mmrazor's own methods: ``(class, name) -> function``.
ORIGINALS = {}


def contiguous_span(mask: Tensor) -> Optional[Tuple[int, int]]:
    """``(start, length)`` of a mask that keeps one contiguous run of
    channels; None for any other mask (none kept, or several runs).

    The count, the first and the last kept channel are read back to the
    host together: one device synchronisation on a GPU, as many as
    mmrazor's mask indexing needs.
    """
    size = mask.numel()
    if size == 0:
        return None
    positions = torch.arange(size, device=mask.device)
    count, first, last = torch.stack((
        mask.sum(),
        torch.where(mask, positions, size).min(),
        torch.where(mask, positions, -1).max(),
    )).tolist()
    if count == 0:
        return None
    return (first, count) if last - first + 1 == count else None


def take_channels(tensor: Tensor, mask: Tensor, dim: int) -> Tensor:
    """The entries of ``tensor`` along ``dim`` that ``mask`` keeps.

    Args:
        tensor (Tensor): A weight or bias.
        mask (Tensor): Boolean, one entry per index of ``dim``.
        dim (int): The channel dimension: 0 (output channels), 1 (input
            channels) or any other (a layer scale's).

    Returns:
        Tensor: A view where the mask keeps a contiguous run, else what
        mmrazor's boolean indexing gives.
    """
    span = contiguous_span(mask)
    if span is None:
        return tensor[(slice(None), ) * dim + (mask, )]
    return tensor.narrow(dim, *span)


def _mask(layer, attr: str, size: int, device) -> Tensor:
    if attr in layer.mutable_attrs:
        return layer.mutable_attrs[attr].current_mask.to(device)
    return torch.ones(size, dtype=torch.bool, device=device)


def _conv_params(self, weight: Tensor, bias: Optional[Tensor]):
    """``DynamicConvMixin._get_dynamic_params_by_mutable_channels``."""
    depthwise = self.groups == self.in_channels == self.out_channels
    if self.groups != 1 and not depthwise:
        return ORIGINALS['conv'](self, weight, bias)
    if 'in_channels' not in self.mutable_attrs and \
            'out_channels' not in self.mutable_attrs:
        return weight, bias
    out_mask = _mask(self, 'out_channels', weight.size(0), weight.device)
    weight = take_channels(weight, out_mask, 0)
    if not depthwise:
        in_mask = _mask(self, 'in_channels', weight.size(1), weight.device)
        weight = take_channels(weight, in_mask, 1)
    bias = take_channels(self.bias, out_mask,
                         0) if self.bias is not None else None
    return weight, bias


def _linear_params(self):
    """``DynamicLinearMixin.get_dynamic_params``."""
    if 'in_features' not in self.mutable_attrs and \
            'out_features' not in self.mutable_attrs:
        return self.weight, self.bias
    device = self.weight.device
    out_mask = _mask(self, 'out_features', self.weight.size(0), device)
    in_mask = _mask(self, 'in_features', self.weight.size(1), device)
    # A linear layer's kernels read the weight's layout: a contiguous copy
    # gives the gradients of mmrazor's (copied) weight bit for bit.
    weight = take_channels(
        take_channels(self.weight, out_mask, 0), in_mask, 1).contiguous()
    bias = take_channels(self.bias, out_mask,
                         0) if self.bias is not None else None
    return weight, bias


def _targets():
    from mmrazor.models.architectures.dynamic_ops.mixins import (
        DynamicConvMixin, DynamicLinearMixin)
    return dict(
        conv=(DynamicConvMixin, '_get_dynamic_params_by_mutable_channels',
              _conv_params),
        linear=(DynamicLinearMixin, 'get_dynamic_params', _linear_params))


def slice_contiguous_channels() -> bool:
    """Make mmrazor's dynamic convolutions and linear layers slice
    contiguous channel runs (idempotent).

    Returns:
        bool: True once they do.
    """
    for key, (cls, name, function) in _targets().items():
        if not getattr(cls, _FIXED, False):
            ORIGINALS[key] = getattr(cls, name)
            setattr(cls, name, function)
            setattr(cls, _FIXED, True)
    return True


@contextlib.contextmanager
def mmrazor_mask_indexing():
    """Within the block, the dynamic layers index by masks as mmrazor does
    (for measuring the fix against mmrazor's own code)."""
    targets = _targets()
    for key, (cls, name, _) in targets.items():
        setattr(cls, name, ORIGINALS.get(key, getattr(cls, name)))
    try:
        yield
    finally:
        for key, (cls, name, function) in targets.items():
            if getattr(cls, _FIXED, False):
                setattr(cls, name, function)
