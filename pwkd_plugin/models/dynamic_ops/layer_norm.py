"""Slimmable ``nn.LayerNorm`` over the last (token feature) dimension."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.models.architectures.dynamic_ops.mixins import \
    DynamicLayerNormMixin
from mmrazor.registry import MODELS


@MODELS.register_module()
class SlimmableLayerNorm(nn.LayerNorm, DynamicLayerNormMixin):
    """``nn.LayerNorm`` over the first features active at a width.

    The affine parameters are sliced (the first features), as in mmrazor's
    ``DynamicLayerNorm``; unlike that op, a narrow forward leaves
    ``normalized_shape`` (and so ``num_features``) at the whole width, and
    :meth:`convert_from` keeps the module's parameters.
    :class:`SwitchableLayerNorm` is the variant with private affine
    parameters per width.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mutable_attrs = nn.ModuleDict()

    @property
    def static_op_factory(self):
        return nn.LayerNorm

    @classmethod
    def convert_from(cls, module: nn.LayerNorm) -> 'SlimmableLayerNorm':
        """A slimmable copy of ``module``, with its parameters."""
        if len(module.normalized_shape) != 1:
            raise ValueError('only a LayerNorm over one dimension can be '
                             f'slimmed, got {module.normalized_shape}')
        dynamic = cls(
            module.normalized_shape,
            eps=module.eps,
            elementwise_affine=module.elementwise_affine,
            bias=getattr(module, 'bias', None) is not None)
        dynamic.load_state_dict(module.state_dict())
        return dynamic

    def active_features(self) -> int:
        """The number of features active at the width."""
        if 'num_features' not in self.mutable_attrs:
            return self.normalized_shape[0]
        return int(self.mutable_num_features.current_mask.sum())

    def affine_params(self):
        """The weight and bias of the active width (None where absent)."""
        if not self.elementwise_affine:
            return None, None
        mask = self._get_num_features_mask()
        bias = None if self.bias is None else self.bias[mask]
        return self.weight[mask], bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.affine_params()
        return F.layer_norm(x, (x.shape[-1], ), weight, bias, self.eps)

    def to_static_op(self) -> nn.LayerNorm:
        self.check_if_mutables_fixed()
        weight, bias = self.affine_params()
        static = nn.LayerNorm(
            self.active_features(),
            eps=self.eps,
            elementwise_affine=self.elementwise_affine,
            bias=bias is not None)
        if weight is not None:
            static.weight = nn.Parameter(weight.detach().clone())
        if bias is not None:
            static.bias = nn.Parameter(bias.detach().clone())
        return static
