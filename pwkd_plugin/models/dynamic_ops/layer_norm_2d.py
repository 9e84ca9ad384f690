"""Slimmable ``LayerNorm2d`` (ConvNeXt's channel LayerNorm)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.utils import LayerNorm2d
from mmrazor.models.architectures.dynamic_ops.mixins import \
    DynamicLayerNormMixin
from mmrazor.registry import MODELS


@MODELS.register_module()
class SlimmableLayerNorm2d(LayerNorm2d, DynamicLayerNormMixin):
    """mmpretrain's ``LayerNorm2d`` over the channels active at a width.

    The affine parameters are sliced (the first channels), not private per
    width: a LayerNorm keeps no running statistics, it normalises each sample
    over the channels it is given, so the reason a slimmable network gives
    each width private batch norms (statistics that differ per width) does
    not arise. Weight-sharing transformer supernets do the same (mmrazor's
    ``DynamicLayerNorm``, AutoFormer, DynaBERT).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mutable_attrs = nn.ModuleDict()

    @property
    def static_op_factory(self):
        return LayerNorm2d

    @classmethod
    def convert_from(cls, module: LayerNorm2d) -> 'SlimmableLayerNorm2d':
        """A slimmable copy of ``module``, with its parameters."""
        dynamic = cls(
            module.num_channels,
            eps=module.eps,
            elementwise_affine=module.elementwise_affine)
        dynamic.load_state_dict(module.state_dict())
        return dynamic

    def forward(self,
                x: torch.Tensor,
                data_format: str = 'channel_first') -> torch.Tensor:
        weight, bias = self.get_dynamic_params()
        shape = (x.shape[-1] if data_format == 'channel_last' else
                 x.shape[1], )
        if data_format == 'channel_last':
            return F.layer_norm(x, shape, weight, bias, self.eps)
        x = F.layer_norm(x.permute(0, 2, 3, 1), shape, weight, bias,
                         self.eps)
        return x.permute(0, 3, 1, 2).contiguous()

    def to_static_op(self) -> LayerNorm2d:
        self.check_if_mutables_fixed()
        weight, bias = self.get_dynamic_params()
        static = LayerNorm2d(
            weight.numel() if weight is not None else self.num_channels,
            eps=self.eps,
            elementwise_affine=self.elementwise_affine)
        if weight is not None:
            static.weight = nn.Parameter(weight.clone())
            static.bias = nn.Parameter(bias.clone())
        return static
