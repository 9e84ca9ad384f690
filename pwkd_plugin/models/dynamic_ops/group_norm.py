"""Slimmable ``nn.GroupNorm`` (PoolFormer's channel LayerNorm is one with
a single group)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .channel_slices import take_channels
from .in_place import OneMutableAttrMixin


@MODELS.register_module()
class SlimmableGroupNorm(nn.GroupNorm, OneMutableAttrMixin,
                         DynamicChannelMixin):
    """``nn.GroupNorm`` over the channels active at a width.

    It keeps its ``num_groups`` and normalises each group over the group's
    active channels, so the active channel count must be a multiple of
    ``num_groups``: any count with one group (a LayerNorm over channels, as
    PoolFormer's), and with several the first channels of every group (the
    channel tracer binds the groups' channels position by position, as for
    a grouped convolution). The affine parameters are sliced, not private
    per width, as :class:`SlimmableLayerNorm2d`'s: a group norm keeps no
    running statistics.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mutable_attrs = nn.ModuleDict()

    @property
    def num_features(self) -> int:
        return self.num_channels

    @property
    def static_op_factory(self):
        return nn.GroupNorm

    @classmethod
    def convert_from(cls, module: nn.GroupNorm) -> 'SlimmableGroupNorm':
        """A slimmable copy of ``module``, with its parameters."""
        dynamic = cls(
            module.num_groups,
            module.num_channels,
            eps=module.eps,
            affine=module.affine)
        dynamic.load_state_dict(module.state_dict())
        return dynamic

    def channel_mask(self) -> Optional[torch.Tensor]:
        """The mask of the active channels (None: all of them)."""
        if 'num_features' not in self.mutable_attrs:
            return None
        return self.mutable_attrs['num_features'].current_mask

    def active_channels(self) -> int:
        mask = self.channel_mask()
        return self.num_channels if mask is None else int(mask.sum())

    def affine_params(
            self) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
        """The weight and bias of the active channels (None without
        affine parameters)."""
        mask = self.channel_mask()
        if not self.affine or mask is None:
            return self.weight, self.bias
        mask = mask.to(self.weight.device)
        return (take_channels(self.weight, mask, 0),
                take_channels(self.bias, mask, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] % self.num_groups:
            raise ValueError(
                f'a group norm of {self.num_groups} groups cannot normalise '
                f'{x.shape[1]} channels: the active channel count must be a '
                'multiple of the group count')
        weight, bias = self.affine_params()
        return F.group_norm(x, self.num_groups, weight, bias, self.eps)

    def to_static_op(self) -> nn.GroupNorm:
        self.check_if_mutables_fixed()
        weight, bias = self.affine_params()
        static = nn.GroupNorm(
            self.num_groups,
            self.active_channels(),
            eps=self.eps,
            affine=self.affine)
        if self.affine:
            static.weight = nn.Parameter(weight.detach().clone())
            static.bias = nn.Parameter(bias.detach().clone())
        return static
