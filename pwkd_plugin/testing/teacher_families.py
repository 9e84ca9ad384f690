"""Small members of the CNN families a slimmable teacher is made from.

Each entry is a classifier config (10 classes) of a backbone family at a
size that traces and trains in seconds on a 32x32 input; the benchmark
``benchmarks/teacher_families.py`` measures the ImageNet-sized ones.
"""
import copy

from mmpretrain.models.backbones import CSPDarkNet, EfficientFormer, LeViT
from mmpretrain.models.backbones.cspnet import DarknetBottleneck
from mmpretrain.models.backbones.efficientformer import (AttentionWithBias,
                                                         Meta3D)
from mmpretrain.registry import MODELS

from . import small_vig  # noqa: F401 registers SmallVig, SmallPyramidVig


@MODELS.register_module()
class SmallCSPDarkNet(CSPDarkNet):
    """CSPDarkNet with two small stages (``depth=2``), for the tests: the
    same stages and blocks as CSPDarkNet-53 at 0.1 of its parameters."""

    arch_settings = {
        2:
        dict(
            block_fn=DarknetBottleneck,
            in_channels=(16, 32),
            out_channels=(32, 64),
            num_blocks=(1, 2),
            expand_ratio=(2, 1),
            bottle_ratio=(2, 1),
            has_downsampler=True,
            down_growth=True),
    }


@MODELS.register_module()
class SmallLeViT(LeViT):
    """LeViT with two small stages (``arch='small'``), for the tests: the
    same conv stem, attentions (a subsampling one between the stages) and
    MLPs as LeViT-128S. mmpretrain's LeViT takes no arch dict (it checks
    for keys it does not read), so the arch is a named one."""

    arch_zoo = {
        'small': dict(embed_dims=[32, 48], num_heads=[2, 3], depths=[1, 1],
                      key_dims=[8, 8]),
    }


def levit_classifier() -> dict:
    """A small LeViT classifier on 32x32 inputs (2x2 tokens, then one):
    its head without the distillation token (mmpretrain trains none)."""
    return dict(
        type='ImageClassifier',
        backbone=dict(type='SmallLeViT', arch='small', img_size=32,
                      out_indices=(1, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LeViTClsHead', num_classes=10, in_channels=48,
                  distillation=False,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


@MODELS.register_module()
class SmallEfficientFormer(EfficientFormer):
    """EfficientFormer whose attention blocks (``Meta3D``) attend over the
    2x2 tokens a 32x32 input leaves (mmpretrain's are built for 7x7), in
    ``num_heads`` heads of ``key_dim`` keys and ``attn_ratio * key_dim``
    values, for the tests."""

    def __init__(self, *args, num_heads: int = 4, key_dim: int = 8,
                 attn_ratio: float = 2., resolution: int = 2,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for module in self.modules():
            if isinstance(module, Meta3D):
                module.token_mixer = AttentionWithBias(
                    module.norm1.normalized_shape[0], num_heads=num_heads,
                    key_dim=key_dim, attn_ratio=attn_ratio,
                    resolution=resolution)


def classifier(backbone: dict, in_channels: int, num_classes: int = 10):
    """An mmpretrain ``ImageClassifier`` around ``backbone``."""
    return dict(
        type='ImageClassifier',
        backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=in_channels,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


def convnext_classifier(arch: dict, **backbone) -> dict:
    """A ConvNeXt classifier (the backbone pools and norms its output)."""
    model = classifier(
        dict(type='ConvNeXt', arch=arch, out_indices=(len(arch['depths']) -
                                                      1, ), **backbone),
        arch['channels'][-1])
    model['neck'] = None
    return model


def hornet_classifier() -> dict:
    """A HorNet classifier of one block per stage, gnConvs of order 2 to 5
    (the backbone pools and norms its output)."""
    model = classifier(
        dict(type='HorNet',
             arch=dict(base_dim=8, depths=[1, 1, 1, 1], orders=[2, 3, 4, 5],
                       dw_cfg=[dict(type='DW', kernel_size=7)] * 4)), 64)
    model['neck'] = None
    return model


def efficientformer_classifier() -> dict:
    """An EfficientFormer classifier: stage 0 without a downsampling layer,
    the last stage a Meta4D then a Meta3D (attention) block on 2x2 tokens;
    its features pooled over the tokens."""
    model = classifier(
        dict(type='SmallEfficientFormer',
             arch=dict(layers=[1, 1, 1, 2], embed_dims=[8, 16, 16, 32],
                       downsamples=[False, True, False, True], vit_num=1)),
        32)
    model['neck'] = dict(type='GlobalAveragePooling', dim=1)
    return model


def tinyvit_classifier() -> dict:
    """A TinyViT classifier of three stages (one MBConv, then one attention
    block each: windows of 2x2 tokens on 4x4, then 2x2 tokens whole); the
    backbone pools its output."""
    model = classifier(
        dict(type='TinyViT',
             arch=dict(channels=[8, 16, 32], num_heads=[1, 2, 4],
                       depths=[1, 1, 1]),
             img_size=(32, 32), window_size=[2, 2, 2], out_indices=(2, ),
             drop_path_rate=0.), 32)
    model['neck'] = None
    return model


def twins_classifier() -> dict:
    """A Twins-SVT classifier of two stages (an LSA then a GSA block each,
    heads of 4 features): windows of 3x3 tokens on 8x8 (padded, so the
    attention mask counts) and 2x2 tokens on 4x4, keys sub-sampled by 2
    in the first stage."""
    return classifier(
        dict(type='SVT',
             arch=dict(embed_dims=[16, 32], depths=[2, 2], num_heads=[4, 8],
                       patch_sizes=[4, 2], strides=[4, 2], mlp_ratios=[2, 2],
                       sr_ratios=[2, 1], window_sizes=[3, 2]),
             out_indices=(1, ), norm_after_stage=[False, True]), 32)


def davit_classifier() -> dict:
    """A DaViT classifier of two stages (a spatial then a channel block
    each, heads of 8 features): windows of 4x4 tokens on 8x8 then 4x4, 16
    then 32 channels, 2 then 4 heads."""
    return classifier(
        dict(type='DaViT',
             arch=dict(embed_dims=16, depths=[1, 1], num_heads=[2, 4]),
             window_size=4, out_indices=(1, ), drop_path_rate=0.), 32)


def mvit_classifier() -> dict:
    """An MViTv2 classifier of two blocks on 8x8 tokens: one head of 16
    channels, then a downscaling block of two heads (32 channels, q pooled
    by 2, a projection on the shortcut), relative position tables."""
    return classifier(
        dict(type='MViT',
             arch=dict(embed_dims=16, num_layers=2, num_heads=1,
                       downscale_indices=[1]),
             img_size=32, patch_cfg=dict(kernel_size=3, stride=4, padding=1)),
        32)


def t2t_classifier() -> dict:
    """A small T2T-ViT on 32x32 inputs: tokens-to-token layers of 4
    channels (8x8 then 4x4 tokens), a class token and 2x2 patch tokens in
    an encoder of depth 2 (embed 96 in 4 heads of 24, MLP 288); a linear
    head reads its class token."""
    return dict(
        classifier(
            dict(type='T2T_ViT', img_size=32, embed_dims=96, num_layers=2,
                 t2t_cfg=dict(token_dims=4),
                 layer_cfgs=dict(num_heads=4, feedforward_channels=288),
                 drop_path_rate=0.), 96),
        neck=None)


def metaformer_classifier(backbone_type: str) -> dict:
    """A PoolFormer or RIFormer classifier: one block per stage."""
    return classifier(
        dict(type=backbone_type,
             arch=dict(layers=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32],
                       mlp_ratios=[2, 2, 2, 2], layer_scale_init_value=1e-5)),
        32)


#: family -> (what it exercises, small classifier config).
SMALL_FAMILIES = {
    'ResNeXt': ('grouped convolutions',
                classifier(
                    dict(type='ResNeXt', depth=50, groups=8,
                         width_per_group=4, num_stages=2, strides=(1, 2),
                         dilations=(1, 1), out_indices=(1, ),
                         stem_channels=16, base_channels=16), 128)),
    'ResNeSt': ('split attention: a grouped convolution of radix runs '
                'viewed apart and summed, weighted by a softmax over the '
                'runs (a view, transpose and reshape) of a squeeze-excite '
                'branch',
                classifier(
                    dict(type='ResNeSt', depth=50, groups=1, radix=2,
                         num_stages=2, strides=(1, 2), dilations=(1, 1),
                         out_indices=(1, ), stem_channels=16,
                         base_channels=16), 128)),
    'Res2Net': ('a split of the first convolution into scales of equal '
                'runs, each convolved after the previous run is added '
                '(the first block of a stage pools the last run), '
                'concatenated back',
                classifier(
                    dict(type='Res2Net', depth=50, scales=4, base_width=8,
                         num_stages=2, strides=(1, 2), dilations=(1, 1),
                         out_indices=(1, ), stem_channels=16,
                         base_channels=16), 128)),
    'RegNetX': ('grouped convolutions',
                classifier(
                    dict(type='RegNet',
                         arch=dict(w0=16, wa=16.0, wm=2.0, group_w=8,
                                   depth=4, bot_mul=1.0),
                         strides=(2, 2, 2), dilations=(1, 1, 1),
                         out_indices=(2, )), 64)),
    'DenseNet': ('concatenation',
                 classifier(
                     dict(type='DenseNet',
                          arch=dict(growth_rate=8, depths=[2, 2],
                                    init_channels=16)), 32)),
    'EfficientNet-B0': ('depthwise + squeeze-excitation, "same" padding',
                        classifier(dict(type='EfficientNet', arch='b0'),
                                   1280)),
    'ShuffleNetV2': ('split, concatenation and channel shuffle',
                     classifier(dict(type='ShuffleNetV2', widen_factor=0.5),
                                1024)),
    'ShuffleNetV1': ('grouped 1x1 convolutions around a channel shuffle of '
                     'three groups, concatenation',
                     classifier(dict(type='ShuffleNetV1', groups=3,
                                     widen_factor=0.5), 480)),
    'ConvNeXt': ('LayerNorm2d, layer scale, linear pointwise layers',
                 convnext_classifier(dict(depths=[1, 1], channels=[16, 32]))),
    'ConvNeXt-V2': ('global response normalisation (GRN) of the expanded '
                    'channels, no layer scale',
                    convnext_classifier(dict(depths=[1, 1], channels=[16, 32]),
                                        use_grn=True,
                                        layer_scale_init_value=0.)),
    'EfficientNetV2': ('fused and depthwise inverted residuals',
                       classifier(dict(type='EfficientNetV2', arch='b0'),
                                  1280)),
    'MobileOne': ('re-parameterisable branches, squeeze-excitation',
                  classifier(
                      dict(type='MobileOne',
                           arch=dict(num_blocks=[1, 1, 1, 1],
                                     width_factor=[0.25] * 4,
                                     num_conv_branches=[1, 1, 1, 1],
                                     num_se_blocks=[0, 0, 0, 1])), 128)),
    'CSPDarkNet': ('channel split in halves by indexing, concatenation',
                   classifier(
                       dict(type='SmallCSPDarkNet', depth=2,
                            out_indices=(1, )), 64)),
    'RegNetY (timm)': ("timm's BatchNormAct2d, grouped convolutions, "
                       'squeeze-excitation (TIMMBackbone)',
                       classifier(
                           dict(type='TIMMBackbone', model_name='regnety_002',
                                pretrained=False), 368)),
    'PoolFormer': ('GroupNorm with one group, layer scales multiplied in '
                   'the forward, pooling token mixer',
                   metaformer_classifier('PoolFormer')),
    'RIFormer': ('GroupNorm with one group, layer scales, depthwise affine '
                 'token mixer', metaformer_classifier('RIFormer')),
    'HorNet': ('recursive gated convolution: a projection split into '
               'pieces of fixed sizes (torch.split), each gating the next '
               'order; its own LayerNorm over channels first or last',
               hornet_classifier()),
    'EfficientFormer': ('Meta4D blocks (pooling, layer scales), a switch '
                        'from feature maps to tokens (Flat), an attention '
                        'of head-major qkv split into keys and values with '
                        'per-head biases (AttentionWithBias)',
                        efficientformer_classifier()),
    'TinyViT': ('convolution + batch norm pairs (ConvBN2d), MBConv blocks '
                'with an in-place residual addition, patch merging that '
                'branches on the length of a shape, window attention of '
                'head-major qkv with per-head biases and a LayerNorm of its '
                'own (LeAttention)',
                tinyvit_classifier()),
    'Twins-SVT': ("patch embeddings with mmcv's adaptive padding, a "
                  'conditional position encoding (a depthwise convolution '
                  'over the token grid, added), locally-grouped attention '
                  'over padded windows (an attention mask built from sizes), '
                  'global attention whose keys and values are sub-sampled '
                  'by a strided convolution and a LayerNorm',
                  twins_classifier()),
    'DaViT': ('tokens whose shape is unpacked, window attention (windows '
              'merged back by an int() of sizes) and channel attention '
              '(heads over channels), both splitting q, k and v by a '
              'reshape; downsampling of tokens adaptively padded as a map; '
              'outputs shaped by a channel count fixed when it is built',
              davit_classifier()),
    'VAN': ('large kernel attention (a product of branches), layer scales, '
            'tokens reshaped into a feature map by a channel count fixed '
            'when it is built',
            classifier(
                dict(type='VAN',
                     arch=dict(embed_dims=[8, 16], depths=[1, 1],
                               ffn_ratios=[2, 2]),
                     out_indices=(1, )), 16)),
    'EdgeNeXt': ('SDTA blocks: channels split into chunks by the width of '
                 'their depthwise convolutions, each added to the last '
                 "one's output; cross-covariance attention (heads over "
                 'channels, a temperature per head); layer scales',
                 dict(
                     classifier(
                         dict(type='EdgeNeXt',
                              arch=dict(channels=[8, 16, 24, 32],
                                        depths=[1, 1, 1, 1],
                                        num_heads=[2, 2, 2, 2]),
                              gap_before_final_norm=True), 32),
                     neck=None)),
    'MobileViT': ('feature map unfolded into patch tokens and folded back '
                  'around transformer layers (multi-head attention), '
                  'concatenation with the block input',
                  classifier(
                      dict(type='MobileViT',
                           arch=[['mobilenetv2', 8, 1, 1, 2],
                                 ['mobilevit', 16, 2, 32, 64, 2, 2]],
                           stem_channels=8, last_exp_factor=2,
                           out_indices=(1, )), 32)),
    'LeViT': ('attention narrowed by whole heads (head-major query, key '
              'and value, a learned bias per head), a subsampling '
              'attention, linear layers followed by BatchNorm1d, a conv '
              'stem', levit_classifier()),
    'XCiT': ('cross-covariance attention whose head dims are read from its '
             'input, local patch interaction (depthwise convolutions over '
             'the token grid), Fourier positional encoding through a '
             'convolution, a class token put before the patch tokens, '
             'class attention, layer scales',
             dict(
                 classifier(
                     dict(type='XCiT', img_size=32, patch_size=16,
                          embed_dims=32, depth=2, num_heads=4,
                          cls_attn_layers=1, mlp_ratio=2), 32),
                 neck=None)),
    'MViT': ('multi-scale attention narrowed by head dims (q, k and v '
             'pooled per head by a depthwise convolution and a LayerNorm '
             'shared by the heads, relative position tables per head dim, '
             'residual pooling), a block whose output dims differ from its '
             'input (a projection on the shortcut, the shortcut max-pooled)',
             mvit_classifier()),
    'T2T-ViT': ('tokens-to-token soft splits (nn.Unfold: each channel '
                'into its kernel area of columns) between single-head '
                'attentions whose value is their output, a class token and '
                'a sinusoid position table added to the tokens',
                t2t_classifier()),
    'BEiT': ('attention adding learned q and v biases to its spans of qkv '
             'and a relative position bias table of one column per head '
             'read by an index buffer, layer scales multiplied in the '
             "layer's forward, a class token, average-pooled patch tokens",
             dict(
                 classifier(
                     dict(type='BEiTViT',
                          arch=dict(embed_dims=32, num_layers=2,
                                    num_heads=4, feedforward_channels=64),
                          img_size=32, patch_size=8,
                          out_type='avg_featmap', use_abs_pos_emb=False,
                          use_rel_pos_bias=True,
                          use_shared_rel_pos_bias=False), 32),
                 neck=None)),
    'MLP-Mixer': ('token mixing: an FFN over the tokens of the transposed '
                  '(tokens, channels) tensor, transposed back (its hidden '
                  'features narrow, the tokens stay whole); channel FFNs',
                  dict(
                      classifier(
                          dict(type='MlpMixer',
                               arch=dict(embed_dims=32, num_layers=2,
                                         tokens_mlp_dims=24,
                                         channels_mlp_dims=64),
                               img_size=32, patch_size=8), 32),
                      neck=dict(type='GlobalAveragePooling', dim=1))),
    'RevViT': ('reversible transformer layers: the embedded tokens '
               'concatenated with themselves, chunked into two halves that '
               'each layer adds its attention and FFN to in turn (a drop '
               'path module built in the forward), concatenated again, '
               'normed and read by the head',
               dict(
                   classifier(
                       dict(type='RevVisionTransformer',
                            arch=dict(embed_dims=32, num_layers=2,
                                      num_heads=4, feedforward_channels=64),
                            img_size=32, patch_size=8,
                            out_type='avg_featmap'), 64),
                   neck=None)),
    'HiViT': ('a hierarchical patch embedding (a convolution viewed and '
              'permuted into inner patches), MLP-only early stages, patch '
              'merges concatenating strided slices of the inner patches, '
              'an absolute position embedding and attentions with a '
              'relative position bias table of one column per head',
              # Seven main blocks: HiViT's forward reshapes the output of
              # the early block whose index is the last main block's.
              classifier(
                  dict(type='HiViT',
                       arch=dict(embed_dims=32, depths=[1, 1, 7],
                                 num_heads=4),
                       img_size=32, patch_size=8, inner_patches=4,
                       out_indices=[6], ape=True, rpe=True), 32)),
    'EVA02': ('attention with a rotary position embedding of q and k per '
              'head (a table of one row per head dim shared by the layers), '
              'the class token kept out of the rotation, SwiGLU FFNs (w12 '
              'chunked into gate and value) with a LayerNorm over their '
              'hidden features, a class token, average-pooled patch tokens',
              dict(
                  classifier(
                      dict(type='ViTEVA02',
                           arch=dict(embed_dims=32, num_layers=2,
                                     num_heads=4, feedforward_channels=64),
                           img_size=32, patch_size=8, sub_ln=True,
                           final_norm=False, out_type='avg_featmap'), 32),
                  neck=None)),
    'ViG': ('graph convolutions over a k-NN graph of the nodes by their '
            'features: gathered neighbours, their largest difference '
            'interleaved channel by channel with the node, a grouped '
            'convolution; a position embedding map',
            classifier(dict(type='SmallVig', arch='small', k=2), 32)),
    'PViG': ('graph convolutions of a pyramid: each node\'s neighbours '
             'among the pooled nodes, by their features and relative '
             'positions',
             classifier(dict(type='SmallPyramidVig', arch='small', k=3),
                        32)),
}


def small_family(name: str) -> dict:
    """A copy of the classifier config of ``name``."""
    return copy.deepcopy(SMALL_FAMILIES[name][1])
