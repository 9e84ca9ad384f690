"""HorNet's LayerNorm and gnConv, following the width."""
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.hornet import HorNetLayerNorm, gnConv
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.models.architectures.dynamic_ops.mixins import \
    DynamicLayerNormMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


def active_channels(layer: nn.Module, attr: str) -> int:
    """``layer``'s ``in_channels`` or ``out_channels`` active at the width
    (all of them where no mutable holds them)."""
    mutables = getattr(layer, 'mutable_attrs', None)
    if mutables is not None and attr in mutables:
        return int(mutables[attr].current_mask.sum())
    return getattr(layer, attr)


@MODELS.register_module()
class SlimmableHorNetLayerNorm(HorNetLayerNorm, DynamicLayerNormMixin):
    """HorNet's LayerNorm (channels last or first) over the channels active
    at a width, with the first affine parameters (as
    :class:`SlimmableLayerNorm`)."""

    elementwise_affine = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mutable_attrs = nn.ModuleDict()

    @property
    def static_op_factory(self):
        return HorNetLayerNorm

    @classmethod
    def convert_from(cls,
                     module: HorNetLayerNorm) -> 'SlimmableHorNetLayerNorm':
        """A slimmable copy of ``module``, with its parameters."""
        dynamic = cls(module.normalized_shape[0], eps=module.eps,
                      data_format=module.data_format)
        dynamic.load_state_dict(module.state_dict())
        return dynamic

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.get_dynamic_params()
        if self.data_format == 'channels_last':
            return F.layer_norm(x, (x.shape[-1], ), weight, bias, self.eps)
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return weight[:, None, None] * x + bias[:, None, None]

    def to_static_op(self) -> HorNetLayerNorm:
        self.check_if_mutables_fixed()
        weight, bias = self.get_dynamic_params()
        static = HorNetLayerNorm(weight.numel(), eps=self.eps,
                                 data_format=self.data_format)
        static.weight = nn.Parameter(weight.detach().clone())
        static.bias = nn.Parameter(bias.detach().clone())
        return static


@MODELS.register_module()
class SlimmableGnConv(InPlaceSlimmableMixin, gnConv, DynamicChannelMixin):
    """HorNet's recursive gated convolution, splitting by the widths of its
    layers.

    mmpretrain's forward splits the input projection by ``self.dims``,
    numbers fixed when it is built; here ``dims`` are the channels active
    in the layers the pieces feed (the first of ``projs`` reads the first
    piece, each of ``projs`` writes the next, ``proj_out`` reads the last),
    so the forward is mmpretrain's at every width. Swapped in before
    tracing (see ``FORWARD_OPS``); it holds no mutable, its layers are
    sliced by their own units (the tracer gives each piece of the split
    its own channels).
    """

    #: the tracer follows the pieces of its split (``split_channels``).
    splits_by_width = True

    @property
    def dims(self) -> List[int]:
        if not self.projs:
            return [active_channels(self.proj_out, 'in_channels')]
        return [active_channels(self.projs[0], 'in_channels')] + [
            active_channels(proj, 'out_channels') for proj in self.projs
        ]

    @property
    def static_op_factory(self):
        return gnConv

    def to_static_op(self) -> gnConv:
        """The module itself as mmpretrain's, with the active ``dims``."""
        dims = self.dims
        self.to_static_class(gnConv)
        self.dims = dims
        return self
