"""Slimmable (dynamic) versions of layers mmrazor's units do not replace.

``DYNAMIC_OPS`` maps a layer type to the dynamic op that replaces it in a
slimmable teacher (:class:`SlimmableTeacherChannelUnit`); mmrazor's own ops
serve plain convolutions (grouped and depthwise included), linear layers and
batch norms. A ConvNeXt block is listed for its layer scale only (its layers
are replaced one by one). timm's ``BatchNormAct2d`` is served when timm is
installed (the ``timm`` extra).
"""
import torch.nn as nn
from mmcv.cnn.bricks import Conv2dAdaptivePadding
from mmpretrain.models.backbones.convnext import ConvNeXtBlock
from mmpretrain.models.utils import LayerNorm2d
from mmrazor.models.architectures import dynamic_ops as razor_ops

from .adaptive_padding_conv import SlimmableConv2dAdaptivePadding
from .convnext_block import SlimmableConvNeXtBlock
from .layer_norm_2d import SlimmableLayerNorm2d

#: exact layer type -> dynamic op. Looked up by exact type, as mmrazor does:
#: a subclass with its own forward needs its own op.
DYNAMIC_OPS = {
    nn.Conv2d: razor_ops.DynamicConv2d,
    Conv2dAdaptivePadding: SlimmableConv2dAdaptivePadding,
    nn.BatchNorm2d: razor_ops.SwitchableBatchNorm2d,
    nn.Linear: razor_ops.DynamicLinear,
    LayerNorm2d: SlimmableLayerNorm2d,
    ConvNeXtBlock: SlimmableConvNeXtBlock,
}

#: exact layer type -> masked dynamic op, for the layers mmrazor's channel
#: tracer cannot check by itself (it checks a unit with masked ops).
TRACER_OPS = {}

try:
    from timm.layers import BatchNormAct2d
except ImportError:  # timm is an optional extra
    pass
else:
    from .batch_norm_act_2d import (DynamicBatchNormAct2d,
                                    SwitchableBatchNormAct2d)
    DYNAMIC_OPS[BatchNormAct2d] = SwitchableBatchNormAct2d
    TRACER_OPS[BatchNormAct2d] = DynamicBatchNormAct2d

__all__ = [
    'DYNAMIC_OPS', 'TRACER_OPS', 'SlimmableConv2dAdaptivePadding',
    'SlimmableConvNeXtBlock', 'SlimmableLayerNorm2d'
]
