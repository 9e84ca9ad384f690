"""Slimmable (dynamic) versions of layers mmrazor's units do not replace.

``DYNAMIC_OPS`` maps a layer type to the dynamic op that replaces it in a
slimmable teacher (:class:`SlimmableTeacherChannelUnit`); mmrazor's own ops
serve plain convolutions (grouped and depthwise included, mmcv's ``Conv2d``
wrapper too), linear layers and batch norms; a ``nn.GroupNorm`` keeps its
groups and normalises over their active channels. A vision transformer
backbone is listed for its class, distillation tokens and position
embedding (Swin's for its stage outputs), an attention for its head count;
ConvNeXt's ``LayerNorm2d`` and ConvNeXt-V2's ``GRN`` slice their affine
parameters. timm's
``BatchNormAct2d`` is served when timm is installed (the ``timm`` extra).
Any other module's per-channel parameters (layer scales) are sliced by
making the module slimmable in place (:func:`slice_channel_parameter`).
``FORWARD_OPS`` maps a module whose forward shapes or splits tensors by
channel counts fixed when it was built (VAN, HorNet's gnConv, EdgeNeXt's
SDTA block, Res2Net's block, an attention's head count) to a version that
reads them from the tensors or its layers (LeViT's, EfficientFormer's and
TinyViT's head-major attentions: whole heads, :class:`HeadAttention`; Twins' locally-grouped and sub-sampled attentions:
q, k and v split by the active features; DaViT's window and channel
attentions, its output maps and its downsampling at any channel count;
MViTv2's attention: head dims, with the poolings every head shares;
T2T-ViT's position table at the tokens' channels; BEiT's and HiViT's
attentions: q and v biases added to their spans (BEiT's), the position
bias table at the active heads; EVA02's attention: whole heads rotated
by their rotary embedding),
or whose forward torch.fx cannot
trace (MobileViT's block, Twins' position encoding) to one it can. A
``nn.BatchNorm1d`` has private norms per width
(:class:`SwitchableBatchNorm1d`).

:func:`slice_contiguous_channels` makes mmrazor's dynamic convolutions and
linear layers take a contiguous run of channels by a slice (importing
:mod:`pwkd_plugin` turns it on).
"""
import torch.nn as nn
from mmcv.cnn.bricks import Conv2dAdaptivePadding
from mmcv.cnn.bricks.wrappers import Conv2d as MMCVConv2d
from mmcv.cnn.bricks.wrappers import Linear as MMCVLinear
from mmpretrain.models.backbones import (VAN, DaViT, DeiT3,
                                         DistilledVisionTransformer, HiViT,
                                         RevVisionTransformer,
                                         SwinTransformer, T2T_ViT,
                                         ViTEVA02, VisionTransformer)
from mmpretrain.models.backbones.davit import (ChannelAttention,
                                               DaViTDownSample,
                                               DaViTWindowMSA)
from mmpretrain.models.backbones.edgenext import SDTAEncoder
from mmpretrain.models.backbones.efficientformer import AttentionWithBias
from mmpretrain.models.backbones.hivit import Attention as HiViTAttention
from mmpretrain.models.backbones.hornet import HorNetLayerNorm, gnConv
from mmpretrain.models.backbones.levit import Attention, AttentionSubsample
from mmpretrain.models.backbones.mobilevit import MobileVitBlock
from mmpretrain.models.backbones.mvit import MultiScaleAttention
from mmpretrain.models.backbones.res2net import Bottle2neck
from mmpretrain.models.backbones.vit_eva02 import AttentionWithRoPE
from mmpretrain.models.backbones.twins import (GlobalSubsampledAttention,
                                               LocallyGroupedSelfAttention)
from mmpretrain.models.backbones.xcit import XCA, ClassAttntion
from mmpretrain.models.utils import (GRN, ChannelMultiheadAttention,
                                     ConditionalPositionEncoding, LayerNorm2d)
from mmpretrain.models.utils.attention import (BEiTAttention, LeAttention,
                                               MultiheadAttention, WindowMSA)
from mmrazor.models.architectures import dynamic_ops as razor_ops

from .adaptive_padding_conv import SlimmableConv2dAdaptivePadding
from .batch_norm_1d import SwitchableBatchNorm1d
from .beit_attention import SlimmableBEiTAttention
from .channel_slices import slice_contiguous_channels
from .channel_parameters import (SlimmableChannelParameters,
                                 slice_channel_parameter)
from .cross_covariance_attention import (SlimmableChannelMultiheadAttention,
                                         SlimmableXCA, SlimmableXCAMixin)
from .class_attention import SlimmableClassAttention
from .davit import SlimmableDaViT
from .davit_channel_attention import SlimmableChannelAttention
from .davit_downsample import SlimmableDaViTDownSample
from .davit_window_attention import SlimmableDaViTWindowMSA
from .deit3 import SlimmableDeiT3
from .efficientformer_attention import SlimmableAttentionWithBias
from .distilled_vision_transformer import SlimmableDistilledVisionTransformer
from .grn import SlimmableGRN
from .group_norm import SlimmableGroupNorm
from .head_attention import HeadAttention
from .hivit import SlimmableHiViT
from .hivit_attention import SlimmableHiViTAttention
from .hornet import SlimmableGnConv, SlimmableHorNetLayerNorm
from .layer_norm import SlimmableLayerNorm
from .layer_norm_2d import SlimmableLayerNorm2d
from .le_attention import SlimmableLeAttention
from .levit import (SlimmableLeViTAttention,
                    SlimmableLeViTAttentionSubsample)
from .locally_grouped_attention import SlimmableLocallyGroupedSelfAttention
from .mobilevit import SlimmableMobileVitBlock
from .multihead_attention import SlimmableMultiheadAttention
from .multiscale_attention import SlimmableMultiScaleAttention
from .position_encoding import SlimmableConditionalPositionEncoding
from .res2net import SlimmableBottle2neck
from .rev_vision_transformer import SlimmableRevVisionTransformer
from .rope_attention import SlimmableAttentionWithRoPE
from .sdta import SlimmableSDTAEncoder
from .subsampled_attention import SlimmableGlobalSubsampledAttention
from .swin_transformer import SlimmableSwinTransformer
from .switchable_layer_norm import SwitchableLayerNorm
from .t2t_vit import SlimmableT2TViT
from .van import SlimmableVAN
from .vision_transformer import SlimmableVisionTransformer
from .vit_eva02 import SlimmableViTEVA02
from .window_msa import SlimmableWindowMSA

#: exact layer type -> dynamic op. Looked up by exact type, as mmrazor does:
#: a subclass with its own forward needs its own op.
DYNAMIC_OPS = {
    nn.Conv2d: razor_ops.DynamicConv2d,
    MMCVConv2d: razor_ops.DynamicConv2d,
    Conv2dAdaptivePadding: SlimmableConv2dAdaptivePadding,
    nn.BatchNorm2d: razor_ops.SwitchableBatchNorm2d,
    nn.BatchNorm1d: SwitchableBatchNorm1d,
    nn.Linear: razor_ops.DynamicLinear,
    MMCVLinear: razor_ops.DynamicLinear,
    LayerNorm2d: SlimmableLayerNorm2d,
    nn.LayerNorm: SlimmableLayerNorm,
    nn.GroupNorm: SlimmableGroupNorm,
    MultiheadAttention: SlimmableMultiheadAttention,
    VisionTransformer: SlimmableVisionTransformer,
    DistilledVisionTransformer: SlimmableDistilledVisionTransformer,
    DeiT3: SlimmableDeiT3,
    RevVisionTransformer: SlimmableRevVisionTransformer,
    ViTEVA02: SlimmableViTEVA02,
    GRN: SlimmableGRN,
    HorNetLayerNorm: SlimmableHorNetLayerNorm,
    WindowMSA: SlimmableWindowMSA,
    SwinTransformer: SlimmableSwinTransformer,
    HiViT: SlimmableHiViT,
}

#: exact layer type -> masked dynamic op, for the layers mmrazor's channel
#: tracer cannot check by itself (it checks a unit with masked ops); the
#: tracer keeps each such layer one node of its graph.
TRACER_OPS = {
    nn.BatchNorm1d: razor_ops.DynamicBatchNorm1d,
    nn.GroupNorm: SlimmableGroupNorm,
    MMCVConv2d: razor_ops.DynamicConv2d,
    MMCVLinear: razor_ops.DynamicLinear,
    nn.LayerNorm: SlimmableLayerNorm,
    LayerNorm2d: SlimmableLayerNorm2d,
    GRN: SlimmableGRN,
    HorNetLayerNorm: SlimmableHorNetLayerNorm,
}

#: exact module type -> the version whose forward reads the channel counts
#: it shapes tensors by from the tensors, not from numbers fixed when the
#: module was built; swapped in (in place) before the model is traced.
FORWARD_OPS = {
    VAN: SlimmableVAN,
    gnConv: SlimmableGnConv,
    SDTAEncoder: SlimmableSDTAEncoder,
    ChannelMultiheadAttention: SlimmableChannelMultiheadAttention,
    MultiheadAttention: SlimmableMultiheadAttention,
    MobileVitBlock: SlimmableMobileVitBlock,
    Attention: SlimmableLeViTAttention,
    AttentionSubsample: SlimmableLeViTAttentionSubsample,
    AttentionWithBias: SlimmableAttentionWithBias,
    LeAttention: SlimmableLeAttention,
    ConditionalPositionEncoding: SlimmableConditionalPositionEncoding,
    LocallyGroupedSelfAttention: SlimmableLocallyGroupedSelfAttention,
    GlobalSubsampledAttention: SlimmableGlobalSubsampledAttention,
    XCA: SlimmableXCA,
    ClassAttntion: SlimmableClassAttention,
    DaViT: SlimmableDaViT,
    DaViTWindowMSA: SlimmableDaViTWindowMSA,
    DaViTDownSample: SlimmableDaViTDownSample,
    ChannelAttention: SlimmableChannelAttention,
    MultiScaleAttention: SlimmableMultiScaleAttention,
    T2T_ViT: SlimmableT2TViT,
    BEiTAttention: SlimmableBEiTAttention,
    Bottle2neck: SlimmableBottle2neck,
    HiViTAttention: SlimmableHiViTAttention,
    AttentionWithRoPE: SlimmableAttentionWithRoPE,
}

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
    'DYNAMIC_OPS', 'FORWARD_OPS', 'TRACER_OPS', 'HeadAttention',
    'SlimmableAttentionWithBias', 'SlimmableAttentionWithRoPE',
    'SlimmableBEiTAttention',
    'SlimmableBottle2neck',
    'SlimmableChannelAttention',
    'SlimmableChannelMultiheadAttention', 'SlimmableChannelParameters',
    'SlimmableClassAttention', 'SlimmableConditionalPositionEncoding',
    'SlimmableConv2dAdaptivePadding', 'SlimmableDaViT',
    'SlimmableDaViTDownSample', 'SlimmableDaViTWindowMSA', 'SlimmableDeiT3',
    'SlimmableDistilledVisionTransformer', 'SlimmableGRN',
    'SlimmableGlobalSubsampledAttention', 'SlimmableGnConv',
    'SlimmableGroupNorm', 'SlimmableHiViT', 'SlimmableHiViTAttention',
    'SlimmableHorNetLayerNorm', 'SlimmableLayerNorm',
    'SlimmableLayerNorm2d', 'SlimmableLeAttention', 'SlimmableLeViTAttention',
    'SlimmableLeViTAttentionSubsample', 'SlimmableLocallyGroupedSelfAttention',
    'SlimmableMobileVitBlock', 'SlimmableMultiScaleAttention',
    'SlimmableMultiheadAttention', 'SlimmableRevVisionTransformer',
    'SlimmableSDTAEncoder',
    'SlimmableSwinTransformer', 'SlimmableT2TViT', 'SlimmableVAN',
    'SlimmableViTEVA02', 'SlimmableVisionTransformer', 'SlimmableWindowMSA', 'SlimmableXCA',
    'SlimmableXCAMixin', 'SwitchableBatchNorm1d', 'SwitchableLayerNorm',
    'slice_channel_parameter', 'slice_contiguous_channels'
]
