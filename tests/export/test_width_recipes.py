"""Backbones whose arch cannot give the slimmable teacher's widths.

EdgeNeXt, MobileViT, EfficientFormer and TinyViT have no width recipe: the
teacher narrows their attentions by whole heads (each head keeping its
dims), which their mmpretrain arguments cannot express. These tests pin
both sides of each reason: what the teacher's static copy holds at width
0.25 (the small members), and what mmpretrain builds for the same channels.
If either changes, a width recipe may have become possible. RevViT's
recipe is ViT's, its head reading both streams.
"""
import inspect

import pytest
from mmpretrain.models.backbones import MobileViT
from mmpretrain.models.backbones.edgenext import SDTAEncoder
from mmpretrain.models.backbones.efficientformer import Meta3D
from mmpretrain.models.backbones.tinyvit import TinyViTBlock
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from pwkd_plugin.export import (NO_RECIPE_REASONS, WIDTH_RECIPES,
                                WidthExportError, static_classifier_config)
from pwkd_plugin.testing.teacher_families import small_family

from ..models.mutators.test_teacher_family_widths import build


def static_copy(name: str, width: float):
    return build(small_family(name)).static_architecture(width).backbone


@pytest.mark.parametrize('backbone, figure', [
    (dict(type='EdgeNeXt', arch='xxsmall'), 'one head of 22'),
    (dict(type='MobileViT', arch='xx_small'), 'differs by 0.0081'),
    (dict(type='EfficientFormer', arch='l1'), 'qkv (384, 112)'),
    (dict(type='TinyViT', arch='5m'), 'one head of 32'),
    (dict(type='ResNeSt', depth=50), 'keep 8 and 16 of their 32 and 64'),
])
def test_refused_with_the_measured_reason(backbone, figure):
    assert backbone['type'] not in WIDTH_RECIPES
    assert figure in NO_RECIPE_REASONS[backbone['type']]
    classifier = dict(
        type='ImageClassifier',
        backbone=backbone,
        head=dict(type='LinearClsHead', num_classes=10, in_channels=8))
    with pytest.raises(WidthExportError, match='no width recipe') as error:
        static_classifier_config(classifier, 0.25)
    assert figure in str(error.value)
    # The whole width needs no recipe.
    assert static_classifier_config(classifier, 1.0) == classifier


def test_resnest_attention_channels_narrow_below_the_arch_floor():
    """The small ResNeSt's first stage (16 channels per radix run, 32
    attention channels: the floor) at 0.25: 4 channels per run and 8
    attention channels, where mmpretrain's split attention of 4 channels
    builds 32."""
    from mmpretrain.models.backbones.resnest import SplitAttentionConv2d
    attention = static_copy('ResNeSt', 0.25).layer1[0].conv2
    assert (attention.fc1.in_channels, attention.fc1.out_channels) == (4, 8)
    assert SplitAttentionConv2d(4, 4, 3).fc1.out_channels == 32


def test_edgenext_attention_spans_other_features_than_its_channels():
    """Stage 3 of the small member (32 channels, 4 chunks, 2 heads of 16)
    at 0.25: 8 channels in chunks of 2, one head of 16; mmpretrain's block
    of 8 channels gives its one head 8 features and a square proj."""
    sdta = static_copy('EdgeNeXt', 0.25).stages[3][0]
    assert sdta.conv_channels == 2
    assert sdta.csa.num_heads == 1 and sdta.csa.head_dims == 16
    assert sdta.csa.qkv.weight.shape == (48, 8)
    assert sdta.csa.proj.weight.shape == (8, 16)
    plain = SDTAEncoder(8, scales=4, num_heads=1)
    assert plain.conv_channels == 2
    assert plain.csa.qkv.weight.shape == (24, 8)
    assert plain.csa.proj.weight.shape == (8, 8)


def test_mobilevit_heads_are_fixed_at_four():
    """Same shapes, other heads: the teacher's first MobileViT block at 0.25
    has one head of 8 features; mmpretrain's block of those channels has
    four heads of 2 (no argument sets them)."""
    attn = static_copy('MobileViT', 0.25).layers[1][1].global_rep[0].attn
    assert (attn.num_heads, attn.head_dims) == (1, 8)
    assert 'num_heads' not in inspect.signature(
        MobileViT.make_mobilevit_layer).parameters
    layer, _ = MobileViT.make_mobilevit_layer(4, 4, 2, 8, 16, 2, 2)
    plain = layer[1].global_rep[0].attn
    assert plain.qkv.weight.shape == attn.qkv.weight.shape == (24, 8)
    assert (plain.num_heads, plain.head_dims) == (4, 2)


def test_efficientformer_attention_heads_are_fixed():
    """The teacher keeps one of the small member's 4 heads at 0.25;
    mmpretrain's Meta3D builds 8 heads of key_dim 32 and 128 value dims at
    any width."""
    attn = static_copy('EfficientFormer', 0.25).network[3][3].token_mixer
    assert attn.num_heads == 1
    assert attn.qkv.weight.shape == (32, 8)
    assert attn.attention_biases.shape == (1, 4)
    plain = Meta3D(8).token_mixer
    assert (plain.num_heads, plain.key_dim, plain.d) == (8, 32, 128)
    assert plain.qkv.weight.shape == (8 * (32 + 32 + 128), 8)
    assert 'num_heads' not in inspect.signature(Meta3D).parameters


def test_tinyvit_attention_spans_other_features_than_its_channels():
    """Stage 1 of the small member (16 channels, 2 heads of 8) at 0.25: 4
    channels with one head of 8; mmpretrain's block of 4 channels and one
    head gives it 4 features, and channels not divisible by the heads are
    refused."""
    attn = static_copy('TinyViT', 0.25).stages[1].blocks[0].attn
    assert attn.num_heads == 1 and attn.key_dim == 8
    assert attn.qkv.weight.shape == (24, 4)
    assert attn.proj.weight.shape == (4, 8)
    plain = TinyViTBlock(4, num_heads=1, window_size=2,
                         resolution=(2, 2)).attn
    assert plain.qkv.weight.shape == (12, 4)
    # TinyViT-5M's stage 2 at width 0.5 would need 80 channels in 3 heads.
    with pytest.raises(AssertionError, match='divisible'):
        TinyViTBlock(80, num_heads=3, window_size=7, resolution=(7, 7))


def test_res2net_runs_narrow_by_base_width_where_it_can():
    """Res2Net-50 14w-8s's runs (14, 28, 56, 112 channels) narrow to 7,
    14, 28, 56 at width 0.5: base_width 7; at 0.25 to 4, 7, 14, 28 (14 *
    0.25 rounded half up), which no base_width builds (base_width * 2**i),
    and the export is refused naming both."""
    classifier = dict(
        type='ImageClassifier',
        backbone=dict(type='Res2Net', depth=50, scales=8, base_width=14),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=2048))
    half = static_classifier_config(classifier, 0.5)
    assert half['backbone'] == dict(
        type='Res2Net', depth=50, scales=8, base_width=7, stem_channels=32,
        base_channels=32)
    assert half['head']['in_channels'] == 1024
    with pytest.raises(WidthExportError) as error:
        static_classifier_config(classifier, 0.25)
    assert 'runs of [4, 7, 14, 28] channels' in str(error.value)
    assert 'base_width 4 builds runs of [4, 8, 16, 32]' in str(error.value)


@pytest.mark.parametrize('fusion_mode, streams', [('concat', 2), ('add', 1)])
def test_rev_vit_head_reads_its_streams_at_the_width(fusion_mode, streams):
    """RevViT-S (deit-small: 6 heads of 64) at 0.25 keeps 2 whole heads,
    an embedding of 128; its head reads both streams' embeddings
    concatenated (256), or one where they are fused into one."""
    classifier = dict(
        type='ImageClassifier',
        backbone=dict(type='RevVisionTransformer', arch='deit-small',
                      fusion_mode=fusion_mode),
        neck=None,
        head=dict(type='LinearClsHead', num_classes=10,
                  in_channels=384 * streams))
    narrow = static_classifier_config(classifier, 0.25)
    assert narrow['backbone']['arch'] == dict(
        embed_dims=128, num_layers=12, num_heads=2, feedforward_channels=384)
    assert narrow['head']['in_channels'] == 128 * streams


def test_hivit_stages_follow_the_main_heads_where_they_can():
    """HiViT-tiny (a main stage of 6 heads of 64, early stages of 96 and
    192 features) at width 0.5 keeps 3 heads, 192 features, and early
    stages of 48 and 96: embed_dims 192, whose quarter and half they are;
    at 0.25 it keeps 2 heads (128) and early stages of 24 and 48, which no
    embed_dims builds (embed_dims // 2**k), and the export is refused
    naming both."""
    classifier = dict(
        type='ImageClassifier',
        backbone=dict(type='HiViT', arch='tiny', img_size=224, rpe=True),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=384))
    half = static_classifier_config(classifier, 0.5)
    assert half['backbone'] == dict(
        type='HiViT', arch=dict(embed_dims=192, depths=[1, 1, 10],
                                num_heads=3),
        img_size=224, rpe=True, stem_mlp_ratio=3.0, mlp_ratio=4.0)
    assert half['head']['in_channels'] == 192
    with pytest.raises(WidthExportError) as error:
        static_classifier_config(classifier, 0.25)
    assert 'stages of [24, 48, 128] features' in str(error.value)
    assert 'embed_dims 128 builds stages of [32, 64, 128]' in str(
        error.value)


@pytest.mark.parametrize('backbone', ['Vig', 'PyramidVig'])
def test_vig_archs_are_named_tables_only(backbone):
    """mmpretrain's ViGs take no arch dict, so no recipe can narrow them
    (their static copies are mmpretrain's Graphers and FFNs of the
    narrowed channels: test_vig_graph_convs_narrow_by_their_groups)."""
    assert backbone not in WIDTH_RECIPES
    assert 'arch_settings[arch]' in NO_RECIPE_REASONS[backbone]
    with pytest.raises(TypeError, match='unhashable'):
        MMPRETRAIN_MODELS.build(
            dict(type=backbone, arch=dict(num_blocks=1, channels=[8])))
