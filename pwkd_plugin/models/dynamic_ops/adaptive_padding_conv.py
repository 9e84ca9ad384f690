"""Slimmable ``Conv2dAdaptivePadding`` (EfficientNet's "same" padding)."""
import torch.nn as nn
from mmcv.cnn.bricks import Conv2dAdaptivePadding
from mmrazor.models.architectures.dynamic_ops import \
    DynamicConv2dAdaptivePadding as _MMRazorOp
from mmrazor.registry import MODELS


@MODELS.register_module()
class SlimmableConv2dAdaptivePadding(_MMRazorOp):
    """mmrazor's dynamic ``Conv2dAdaptivePadding``, with a static copy.

    mmrazor's op slices the channels and pads the input as the static layer
    does, but its ``to_static_op`` passes ``padding_mode`` to
    ``Conv2dAdaptivePadding``, which takes none. Here the static copy is
    built with the arguments the layer has.
    """

    def to_static_op(self) -> nn.Conv2d:
        self.check_if_mutables_fixed()
        weight, bias, _ = self.get_dynamic_params()
        groups = self.groups
        if groups == self.in_channels == self.out_channels and \
                self.mutable_in_channels is not None:
            groups = int(
                self.mutable_attrs['in_channels'].current_mask.sum().item())
        static = Conv2dAdaptivePadding(
            in_channels=weight.size(1) * groups,
            out_channels=weight.size(0),
            kernel_size=tuple(weight.shape[2:]),
            stride=self.stride,
            dilation=self.dilation,
            groups=groups,
            bias=bias is not None)
        static.weight = nn.Parameter(weight)
        if bias is not None:
            static.bias = nn.Parameter(bias)
        return static
