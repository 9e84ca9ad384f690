"""How each family's layers narrow, width by width.

Grouped convolutions, channel shuffles, GroupNorms and layer scales,
response norms, chunks split by the width, attentions narrowed by whole
heads or by head dims, a single head narrowing its features: per family,
the channels and heads every width keeps, and that every width's static
copy computes what the slimmable network does. (That every small family
trains, is partial at 0.25 and teaches a student through every stage is
``tests/integration/test_teacher_families.py``.) A width that cannot run
is refused with the module and the reason, and a family whose channel
split the tracer cannot follow (Res2Net with mmpretrain's own block, which
splits by a width fixed when it is built) as mostly whole, naming the
block.
"""
import copy
import functools

import pytest
import torch
from mmpretrain.models.backbones.mvit import MultiScaleAttention
from mmpretrain.models.backbones.res2net import Bottle2neck
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.models.backbones.xcit import XCA, ClassAttntion
from mmrazor.models.architectures.dynamic_ops import SwitchableBatchNorm2d
from mmrazor.registry import MODELS

from pwkd_plugin.models.dynamic_ops import FORWARD_OPS
from pwkd_plugin.models.mutators import (MostlyWholeTeacherError,
                                         WidthForwardError)
from pwkd_plugin.models.mutators.width_check import macs_per_width
from pwkd_plugin.models.mutators.width_check import UNFOLLOWED_BLOCKS
from pwkd_plugin.models.utils.conv_linear_macs import conv_linear_macs
from pwkd_plugin.testing.teacher_families import classifier, small_family

SIZE = 32


def build(architecture, **mutator):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='SlimmableTeacher',
            architecture=dict(architecture, _scope_='mmpretrain'),
            mutator=dict(
                type='SlimmableTeacherMutator',
                parse_cfg=dict(
                    type='ChannelAnalyzer',
                    demo_input=(1, 3, SIZE, SIZE),
                    tracer_type='FxTracer'),
                **mutator)))


def assert_static_copy_matches(model, width, inputs, static=None):
    """The static copy of ``width`` computes what the slimmable model does
    at that width (within 1e-5)."""
    static = static or model.static_architecture(width)
    model.mutator.set_width(width)
    with torch.no_grad():
        assert torch.allclose(
            static(inputs, mode='tensor'),
            model(inputs, mode='tensor'),
            atol=1e-5), width


#: why a block of mmpretrain's Res2Net (not made slimmable) is refused.
FIXED_SPLIT = ("Res2Net's block splits its channels into scales of a fixed "
               'width (torch.split by self.width)')


@pytest.fixture
def fixed_split_res2net(monkeypatch):
    """The small Res2Net with mmpretrain's own blocks, which split by a
    width fixed when they are built: the tracer does not follow the split
    (named in ``UNFOLLOWED_BLOCKS``)."""
    monkeypatch.delitem(FORWARD_OPS, Bottle2neck)
    monkeypatch.setitem(UNFOLLOWED_BLOCKS, 'Bottle2neck', FIXED_SPLIT)
    return small_family('Res2Net')


@functools.lru_cache(maxsize=None)
def built_family(name):
    """The slimmable teacher of a small family, built once per session."""
    return build(small_family(name)).eval()


def test_shuffled_blocks_keep_twice_the_half_at_every_width():
    """A ShuffleNetV2 stage's output is its two concatenated halves.

    The layers that read a stage's shuffled output (the next stage's first
    block: a depthwise conv and two 1x1 convs) take twice the channels of
    each concatenated branch, at every width; the blocks that read the
    second half take the half.
    """
    model = built_family('ShuffleNetV2')
    stages = model.architecture.backbone.layers
    for width in model.mutator.widths:
        model.mutator.set_width(width)
        for index in range(3):
            stage = stages[index]
            half = stage[0].branch2[2].conv.mutable_out_channels \
                .activated_channels
            assert stage[0].branch1[1].conv.mutable_out_channels \
                .activated_channels == half
            for block in stage[1:]:
                assert block.branch2[0].conv.mutable_in_channels \
                    .activated_channels == half
                assert block.branch2[2].conv.mutable_out_channels \
                    .activated_channels == half
            if index < 2:
                first = stages[index + 1][0]
                readers = [first.branch1[0].conv, first.branch1[1].conv,
                           first.branch2[0].conv]
            else:
                readers = [stages[3].conv]
            for conv in readers:
                assert conv.mutable_in_channels.activated_channels == \
                    2 * half, (index, width)
            expected = round(width * stage[0].branch2[2].conv.out_channels)
            assert abs(half - expected) <= 1, (index, width)
    model.mutator.set_width(1.0)


def test_shufflenet_v1_bottlenecks_keep_every_group():
    """A ShuffleNetV1 block's bottleneck (3 groups of k channels around
    the shuffle) keeps 3 groups of m channels at a width: the first m of
    each group, so the expanding convolution keeps its 3 groups."""
    model = built_family('ShuffleNetV1')
    block = model.architecture.backbone.layers[1][1]
    per_group = block.bottleneck_channels // 3
    mask_of = block.g_conv_1x1_compress.conv.mutable_out_channels
    for width in model.mutator.widths:
        model.mutator.set_width(width)
        mask = mask_of.current_mask.reshape(3, per_group)
        kept = int(mask[0].sum())
        assert (mask == mask[0]).all() and mask[0, :kept].all()
        assert abs(kept - width * per_group) <= 0.5, width
        expand = model.static_architecture(width).backbone.layers[1][1] \
            .g_conv_1x1_expand.conv
        assert expand.groups == 3 and expand.in_channels == 3 * kept
    model.mutator.set_width(1.0)


def test_grouped_norms_get_a_private_norm_per_width():
    """A grouped unit appears once per group: its norms see groups x count.

    With 8 groups of 4 channels (the first bottleneck, 32 channels), width
    0.25 keeps one channel of every group: 8 channels reach the norm.
    """
    model = built_family('ResNeXt')
    norm = model.architecture.backbone.layer1[0].bn2
    assert isinstance(norm, SwitchableBatchNorm2d)
    assert sorted(int(k) for k in norm.candidate_bn) == [8, 16, 24, 32]
    assert model.architecture.backbone.layer1[0].conv2.groups == 8


def test_a_width_that_cannot_run_is_refused_naming_the_module():
    model = build(small_family('ResNeXt'))
    del model.architecture.backbone.layer1[0].bn2.candidate_bn['8']
    with pytest.raises(WidthForwardError) as info:
        macs_per_width(model.mutator, model.architecture, (1, 3, SIZE, SIZE))
    message = str(info.value)
    assert 'width 0.25' in message
    assert "'backbone.layer1.0.bn2' (SwitchableBatchNorm2d)" in message
    assert 'the 8 channels reaching this switchable batch norm' in message


def test_convnext_layer_scale_and_norms_follow_the_width():
    """The residual stream of each stage is sliced: the layer scale, the
    LayerNorms (sliced affine, no private copies) and the classifier."""
    model = built_family('ConvNeXt')
    backbone = model.architecture.backbone
    block = backbone.stages[1][0]
    torch.manual_seed(1)
    with torch.no_grad():  # layer scales start at 1e-6: make them count
        for stage in backbone.stages:
            for each in stage:
                each.gamma.uniform_(0.5, 1.5)
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width, channels in zip(model.mutator.widths, (8, 16, 24, 32)):
        model.mutator.set_width(width)
        assert block.gamma.shape == (channels, )
        assert block.norm.get_dynamic_params()[0].shape == (channels, )
        assert backbone.norm1.get_dynamic_params()[0].shape == (channels, )
        static = model.static_architecture(width)
        assert static.head.fc.in_features == channels
        assert static.backbone.stages[1][0].gamma.shape == (channels, )
        assert set(static.state_dict()) == set(
            model.architecture.state_dict()) - {
                k for k in model.architecture.state_dict()
                if 'mutable' in k}
        assert_static_copy_matches(model, width, inputs, static)
    model.mutator.set_width(1.0)
    # A LayerNorm normalises over the channels it is given: one weight per
    # channel, shared by every width.
    assert [n for n, _ in block.norm.named_parameters()] == ['weight', 'bias']


def test_convnext_v2_response_norms_follow_the_expanded_channels():
    """Each GRN is sliced with its block's expanded channels and divides
    by the mean response over the active channels, as the narrow network's
    GRN does."""
    model = built_family('ConvNeXt-V2')
    backbone = model.architecture.backbone
    block = backbone.stages[1][0]
    torch.manual_seed(1)
    with torch.no_grad():  # GRN starts as the identity: make it count
        for stage in backbone.stages:
            for each in stage:
                each.grn.gamma.uniform_(0.5, 1.5)
                each.grn.beta.uniform_(-0.5, 0.5)
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width, hidden in zip(model.mutator.widths, (32, 64, 96, 128)):
        model.mutator.set_width(width)
        assert block.grn.gamma.shape == block.grn.beta.shape == (hidden, )
        static = model.static_architecture(width)
        assert static.backbone.stages[1][0].grn.in_channels == hidden
        assert_static_copy_matches(model, width, inputs, static)
    model.mutator.set_width(1.0)


def test_van_stages_give_back_the_channels_that_flow():
    """VAN turns each stage's tokens back into a feature map by a channel
    count fixed when it is built: the slimmable backbone reads it from the
    tokens, and each width's static copy is mmpretrain's VAN with that
    width's counts, so its own forward runs."""
    from mmpretrain.models.backbones import VAN
    model = built_family('VAN')
    for width, dims in zip(model.mutator.widths,
                           ([2, 4], [4, 8], [6, 12], [8, 16])):
        model.mutator.set_width(width)
        static = model.static_architecture(width).backbone
        assert type(static) is VAN and static.embed_dims == dims
        assert [block.out_channels for stage in (static.blocks1,
                                                 static.blocks2)
                for block in stage] == dims
        outputs = static(torch.rand(2, 3, SIZE, SIZE))
        assert outputs[-1].shape[1] == dims[-1]
    model.mutator.set_width(1.0)


def test_hornet_gnconv_splits_by_the_widths_of_its_layers():
    """A gnConv splits its input projection into pieces of fixed sizes, one
    per order: each piece is sliced on its own (the tracer's split rule),
    the slimmable gnConv splits by its layers' active channels, and the
    static copy is mmpretrain's gnConv with those sizes."""
    from mmpretrain.models.backbones.hornet import gnConv
    model = built_family('HorNet')
    block = model.architecture.backbone.stages[1][0]  # dim 16, order 3
    for width, dims in zip(model.mutator.widths,
                           ([1, 2, 4], [2, 4, 8], [3, 6, 12], [4, 8, 16])):
        model.mutator.set_width(width)
        assert block.gnconv.dims == dims
        static = model.static_architecture(width)
        gnconv = static.backbone.stages[1][0].gnconv
        assert type(gnconv) is gnConv and gnconv.dims == dims
        assert gnconv.proj_in.out_channels == dims[0] + sum(dims)
    model.mutator.set_width(1.0)


def test_a_teacher_with_whole_layers_is_refused_naming_them(
        fixed_split_res2net):
    with pytest.raises(MostlyWholeTeacherError) as info:
        build(fixed_split_res2net)
    message = str(info.value)
    assert 'width 0.25' in message and 'allow_mostly_whole=True' in message
    # Under half of the FLOPs (0.388), but layers left whole: refused.
    assert 'more than 0.5' not in message
    assert 'layers inside its Bottle2neck blocks cannot be sliced' in message
    # The layers inside a block the tracer cannot follow name the block's op.
    group = message.split(': ' + FIXED_SPLIT)[0]
    assert 'backbone.layer1.0.convs.0, ' in group.rsplit('; ', 1)[-1]


def test_a_mostly_whole_teacher_is_refused_by_its_flops(fixed_split_res2net):
    # Its narrowest width 0.5 keeps 0.568 of the FLOPs.
    with pytest.raises(MostlyWholeTeacherError,
                       match=r'width 0.5 .* keeps 0\.5[6-9]\d '
                       r'.*more than 0.5'):
        build(fixed_split_res2net, widths=(0.5, 1.0))


def test_a_mostly_whole_teacher_trains_when_opted_in(fixed_split_res2net):
    model = build(fixed_split_res2net, allow_mostly_whole=True)
    macs = model.mutator.width_macs
    assert macs[0.25] < 0.5 * macs[1.0] and model.mutator.whole_layers
    assert 'backbone.layer1.0.convs.0' in model.mutator.whole_layers


def test_edgenext_chunks_and_heads_follow_the_width():
    """An SDTA block splits its channels into chunks of its depthwise
    convolutions' widths, the last chunk the rest; its channel attention
    keeps whole heads (head dims kept) with their temperatures; each
    width's static copy is mmpretrain's block with those sizes."""
    from mmpretrain.models.backbones.edgenext import SDTAEncoder
    from mmpretrain.models.utils import ChannelMultiheadAttention
    model = build(small_family('EdgeNeXt'))
    backbone = model.architecture.backbone
    torch.manual_seed(1)
    with torch.no_grad():  # layer scales start at 1e-6: make them count
        for name, parameter in backbone.named_parameters():
            if name.rpartition('.')[2] in ('gamma', 'gamma_csa', 'scale'):
                parameter.uniform_(0.5, 1.5)
    block = backbone.stages[3][0]  # 32 channels: 4 chunks of 8, 2 heads
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width, chunk, heads in zip(model.mutator.widths, (2, 4, 6, 8),
                                   (1, 1, 2, 2)):
        model.mutator.set_width(width)
        assert block.split_sizes(4 * chunk) == [chunk] * 4
        assert block.csa.active_heads() == heads
        static = model.static_architecture(width)
        sdta = static.backbone.stages[3][0]
        assert type(sdta) is SDTAEncoder and sdta.conv_channels == chunk
        assert type(sdta.csa) is ChannelMultiheadAttention
        assert sdta.csa.num_heads == heads and sdta.csa.head_dims == 16
        assert sdta.csa.qkv.out_features == 3 * 16 * heads
        assert torch.equal(sdta.csa.scale,
                           block.csa.scale.detach()[:heads])
        assert_static_copy_matches(model, width, inputs, static)
    model.mutator.set_width(1.0)


@pytest.mark.parametrize('name', ['PoolFormer', 'RIFormer'])
def test_group_norms_and_layer_scales_follow_the_width(name):
    """Each stage's residual stream is one traced unit: the convolution
    that opens it, the GroupNorms (sliced affine), the layer scales (the
    block's own parameters, read sliced), the MLPs' outer channels."""
    model = built_family(name)
    backbone = model.architecture.backbone
    block = backbone.network[2][0]
    torch.manual_seed(1)
    with torch.no_grad():  # layer scales start at 1e-5: make them count
        for stage in backbone.network[::2]:
            for each in stage:
                each._parameters['layer_scale_1'].uniform_(0.5, 1.5)
                each._parameters['layer_scale_2'].uniform_(0.5, 1.5)
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width, channels in zip(model.mutator.widths, (4, 8, 12, 16)):
        model.mutator.set_width(width)
        assert block.layer_scale_1.shape == (channels, )
        assert block.layer_scale_2.shape == (channels, )
        assert block.norm1.active_channels() == channels
        assert block.mlp.fc1.mutable_in_channels.activated_channels == \
            channels
        static = model.static_architecture(width)
        assert static.backbone.network[2][0].norm2.num_channels == channels
        assert static.backbone.network[2][0].layer_scale_1.shape == \
            (channels, )
        assert set(static.state_dict()) == {
            k for k in model.architecture.state_dict() if 'mutable' not in k}
        assert_static_copy_matches(model, width, inputs, static)
    model.mutator.set_width(1.0)
    assert block._parameters['layer_scale_1'].shape == (16, )


def test_a_family_with_an_unfollowed_split_is_refused_naming_the_block(
        fixed_split_res2net):
    with pytest.raises(MostlyWholeTeacherError) as info:
        build(fixed_split_res2net)
    message = str(info.value)
    # The op and why, whichever share of the FLOPs is left.
    assert FIXED_SPLIT in message
    assert 'inside its Bottle2neck blocks cannot be sliced' in message
    assert 'allow_mostly_whole=True' in message
    # Opted in, it trains with those layers whole, and says which.
    model = build(fixed_split_res2net, allow_mostly_whole=True)
    assert model.mutator.whole_layers


def test_mvit_attentions_narrow_by_head_dims():
    """The small MViT (one head of 16, then two heads of 16 at 32 features):
    every head keeps the first 4, 8, 12, 16 of its dims at widths 0.25-1
    (q, k and v spans of qkv, the poolings and their norms, proj's inputs),
    the head count stays; the static copy is mmpretrain's attention of
    those head dims (q scaled by them) with its relative position tables
    sliced."""
    model = built_family('MViT')
    blocks = model.architecture.backbone.blocks
    with torch.no_grad():  # built zero: make them count
        for block in blocks:
            block.attn.rel_pos_h.normal_(0, 0.5)
            block.attn.rel_pos_w.normal_(0, 0.5)

    def active(layer, attr, runs=1):
        """Channels kept in each of ``runs`` equal runs (heads)."""
        mask = layer.get_mutable_attr(attr).current_mask
        return [int(run[:dims].sum()) for run in mask.chunk(runs)], \
            int(mask.sum())

    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width, dims in zip(model.mutator.widths, (4, 8, 12, 16)):
        model.mutator.set_width(width)
        attn = blocks[1].attn
        assert attn.active_head_dims() == dims
        # q, k and v of both heads: the first dims of each.
        assert active(attn.qkv, 'out_channels', 6) == ([dims] * 6, 6 * dims)
        assert active(attn.proj, 'in_channels', 2) == ([dims] * 2, 2 * dims)
        assert active(attn.pool_q, 'out_channels') == ([dims], dims)
        assert active(blocks[0].attn.qkv, 'out_channels',
                      3) == ([dims] * 3, 3 * dims)
        assert active(attn.proj, 'out_channels')[1] == 32 * width
        static = model.static_architecture(width).backbone.blocks[1].attn
        assert type(static) is MultiScaleAttention
        assert static.num_heads == 2 and static.out_dims == 2 * dims
        assert static.rel_pos_h.shape == static.rel_pos_w.shape == (7, dims)
        assert static.pool_k.out_channels == static.norm_v.weight.numel() \
            == dims
        assert static.scale == dims**-0.5
        assert_static_copy_matches(model, width, inputs)
    model.mutator.set_width(1.0)


def test_mobilevit_attentions_keep_whole_heads():
    """MobileViT unfolds a feature map into patch tokens around its
    transformer layers: the tracer follows the unfold and fold (the block's
    channels pass through them) and the attention wherever it sits (q, k
    and v split from ``qkv``, bound head dim by head dim), so each
    attention's heads are one unit of whole heads of 8 (4 at width 1.0)
    and the token stream is the convolutions' unit. Each width's static
    copy is mmpretrain's block and attention at the active heads."""
    from mmpretrain.models.backbones.mobilevit import MobileVitBlock
    from mmpretrain.models.utils.attention import MultiheadAttention
    model = built_family('MobileViT')
    block = model.architecture.backbone.layers[1][1]
    for width, heads in zip(model.mutator.widths, (1, 2, 3, 4)):
        model.mutator.set_width(width)
        for layer in block.global_rep[:2]:
            mask = layer.attn.qkv.get_mutable_attr('out_channels').current_mask
            assert mask.tolist() == ([True] * 8 * heads +
                                     [False] * 8 * (4 - heads)) * 3
            assert layer.attn.proj.get_mutable_attr(
                'in_channels').current_mask.sum() == 8 * heads
        assert block.local_rep[1].conv.get_mutable_attr(
            'out_channels').current_mask.sum() == 8 * heads
        static = model.static_architecture(width).backbone.layers[1][1]
        assert type(static) is MobileVitBlock
        for layer in static.global_rep[:2]:
            assert type(layer.attn) is MultiheadAttention
            assert (layer.attn.num_heads, layer.attn.embed_dims,
                    layer.attn.input_dims) == (heads, 8 * heads, 8 * heads)
    model.mutator.set_width(1.0)


def test_twins_attentions_narrow_by_whole_heads():
    """The small Twins-SVT's first stage (16 features, 4 heads of 4): its
    locally-grouped and sub-sampled attentions keep 1 to 4 whole heads
    (q, k and v spans of their projections), the position encoding's
    depthwise convolution and the key sub-sampling convolution 4 to 16
    channels; the second stage twice as many heads."""
    model = built_family('Twins-SVT')
    backbone = model.architecture.backbone
    lsa, gsa = backbone.stages[0][0].attn, backbone.stages[0][1].attn

    def active(layer, attr):
        return int(layer.get_mutable_attr(attr).current_mask.sum())

    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width, heads in zip(model.mutator.widths, (1, 2, 3, 4)):
        model.mutator.set_width(width)
        assert lsa.active_heads() == gsa.active_heads() == heads
        assert active(lsa.qkv, 'out_channels') == 3 * 4 * heads
        assert active(gsa.q, 'out_channels') == 4 * heads
        assert active(gsa.kv, 'out_channels') == 2 * 4 * heads
        for conv in (gsa.sr, backbone.position_encodings[0].proj):
            assert active(conv, 'out_channels') == 16 * width
        static = model.static_architecture(width)
        assert [static.backbone.stages[stage][block].attn.num_heads
                for stage in (0, 1) for block in (0, 1)] == [heads] * 2 + [
                    2 * heads] * 2
        assert_static_copy_matches(model, width, inputs, static)


@pytest.mark.parametrize('name,attention,heads', [
    ('EfficientFormer', 'network.3.3.token_mixer', (1, 2, 3, 4)),
    ('TinyViT', 'stages.2.blocks.0.attn', (1, 2, 3, 4)),
    ('TinyViT', 'stages.1.blocks.0.attn', (1, 1, 2, 2)),
])
def test_head_major_attentions_narrow_by_whole_heads(name, attention, heads):
    """EfficientFormer's and TinyViT's attentions (heads of 8 keys and
    values 8 or 16) keep whole heads, rounded half up: ``qkv``'s outputs
    and ``proj``'s inputs are units of whole heads, while the embedding
    (``qkv``'s inputs, TinyViT's own LayerNorm) narrows by channels; the
    static copy is mmpretrain's attention of those heads with their
    biases."""
    model = built_family(name)
    module = model.architecture.backbone.get_submodule(attention)
    head = 2 * module.key_dim + module.d
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width, count in zip(model.mutator.widths, heads):
        model.mutator.set_width(width)
        assert module.active_heads() == count
        assert module.qkv.get_mutable_attr('out_channels').current_mask \
            .tolist() == [True] * head * count + [False] * head * (
                module.num_heads - count)
        assert int(module.proj.get_mutable_attr('in_channels').current_mask
                   .sum()) == module.d * count
        assert int(module.qkv.get_mutable_attr('in_channels').current_mask
                   .sum()) == module.qkv.in_features * width
        static = model.static_architecture(width)
        narrow = static.backbone.get_submodule(attention)
        assert (narrow.num_heads, narrow.dh) == (count, module.d * count)
        assert narrow.attention_biases.shape[0] == count
        assert_static_copy_matches(model, width, inputs, static)
    model.mutator.set_width(1.0)


def test_a_single_head_narrows_its_features():
    """Twins-PCPVT's first stage has one head (here of 16 features): its
    sub-sampled attention narrows that head's features (q's 4 to 16
    outputs, k's and v's each) instead of keeping the head whole; the
    second stage keeps 1 to 4 whole heads of 8. The static copy is
    mmpretrain's attention of one head of those features, scaled as one."""
    model = build(classifier(
        dict(type='PCPVT',
             arch=dict(embed_dims=[16, 32], depths=[1, 1], num_heads=[1, 4],
                       patch_sizes=[4, 2], strides=[4, 2], mlp_ratios=[2, 2],
                       sr_ratios=[2, 1]),
             out_indices=(1, ), norm_after_stage=[False, True]), 32)).eval()
    assert model.mutator.whole_layers == []
    first = model.architecture.backbone.stages[0][0].attn
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width in model.mutator.widths:
        features = int(16 * width)
        model.mutator.set_width(width)
        assert int(first.q.get_mutable_attr(
            'out_channels').current_mask.sum()) == features
        assert int(first.kv.get_mutable_attr(
            'out_channels').current_mask.sum()) == 2 * features
        assert (first.active_heads(), first.active_head_dims()) == (1,
                                                                   features)
        static = model.static_architecture(width).backbone.stages
        attention = static[0][0].attn
        assert (attention.num_heads, attention.head_dims) == (1, features)
        assert static[1][0].attn.num_heads == int(4 * width)
        assert_static_copy_matches(model, width, inputs)


def test_xcit_stream_narrows_with_the_heads():
    """XCiT's attentions read their head dims from their input: the stream,
    the class token and the heads of every XCA and class attention are one
    unit of whole heads (4 heads of 8), and each static copy is
    mmpretrain's XCiT attention of that many heads on that many
    channels."""
    model = built_family('XCiT')
    backbone = model.architecture.backbone
    for width, heads in zip(model.mutator.widths, (1, 2, 3, 4)):
        model.mutator.set_width(width)
        qkv = backbone.xca_layers[1].attn.qkv
        assert qkv.get_mutable_attr('out_channels').current_mask.tolist() \
            == ([True] * 8 * heads + [False] * 8 * (4 - heads)) * 3
        assert qkv.get_mutable_attr('in_channels').current_mask.sum() == \
            8 * heads
        static = model.static_architecture(width).backbone
        assert static.cls_token.shape[-1] == 8 * heads
        for attention in (static.xca_layers[1].attn, static.ca_layers[0].attn):
            assert type(attention) in (XCA, ClassAttntion)
            assert attention.num_heads == heads
            assert attention.proj.in_features == 8 * heads
        assert static.xca_layers[1].local_mp.conv1.conv.groups == 8 * heads
    model.mutator.set_width(1.0)


def test_davit_attentions_narrow_by_whole_heads():
    """The small DaViT (16 then 32 features, 2 then 4 heads of 8): each
    stage's window and channel attentions keep the same whole heads (q, k
    and v spans of qkv), 1, 1, 2, 2 then 1 to 4, while the tokens, their
    position encodings and the downsampling take 4 to 16 then 8 to 32
    channels; the static copy's attentions have those heads."""
    model = built_family('DaViT')
    stages = model.architecture.backbone.stages

    def active(layer, attr):
        return int(layer.get_mutable_attr(attr).current_mask.sum())

    inputs = torch.rand(2, 3, SIZE, SIZE)
    for index, width in enumerate(model.mutator.widths):
        model.mutator.set_width(width)
        static = model.static_architecture(width).backbone.stages
        for stage, heads in ((0, (1, 1, 2, 2)[index]), (1, index + 1)):
            block = stages[stage].blocks[0]
            for attn in (block.spatial_block.attn.w_msa,
                         block.channel_block.attn):
                assert attn.active_heads() == heads
                assert active(attn.qkv, 'out_channels') == 3 * 8 * heads
            for cpe in (block.spatial_block.cpe1, block.channel_block.cpe2):
                assert active(cpe.proj, 'out_channels') == \
                    16 * 2**stage * width
            copy = static[stage].blocks[0]
            assert copy.spatial_block.attn.w_msa.num_heads == \
                copy.channel_block.attn.num_heads == heads
        assert active(stages[0].downsample.projection,
                      'out_channels') == 32 * width
        assert_static_copy_matches(model, width, inputs)
    model.mutator.set_width(1.0)


def test_beit_attentions_narrow_by_whole_heads():
    """The small BEiT (32 features, 4 heads of 8): each attention keeps 1
    to 4 whole heads (q, k and v spans of qkv), with their q and v biases
    and their columns of the relative position bias table; the static
    copy's attention is mmpretrain's ``BEiTAttention`` of that many heads,
    and no layer is left whole."""
    from mmpretrain.models.utils.attention import BEiTAttention
    model = build(small_family('BEiT')).eval()
    assert model.mutator.whole_layers == []
    layers = model.architecture.backbone.layers
    torch.manual_seed(1)
    with torch.no_grad():  # zeros at init: make the biases count
        for layer in layers:
            for name in ('q_bias', 'v_bias', 'relative_position_bias_table'):
                layer.attn._parameters[name].normal_(0, 0.5)
    attn = layers[0].attn
    table = attn._parameters['relative_position_bias_table'].detach()
    q_bias = attn._parameters['q_bias'].detach()
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width, heads in zip(model.mutator.widths, (1, 2, 3, 4)):
        model.mutator.set_width(width)
        assert attn.active_heads() == heads
        mask = attn.qkv.get_mutable_attr('out_channels').current_mask
        assert mask.tolist() == ([True] * 8 * heads +
                                 [False] * 8 * (4 - heads)) * 3
        assert attn.q_bias.shape == attn.v_bias.shape == (8 * heads, )
        static = model.static_architecture(width)
        for layer in static.backbone.layers:
            assert type(layer.attn) is BEiTAttention
            assert (layer.attn.num_heads, layer.attn.embed_dims) == (
                heads, 8 * heads)
        copy = static.backbone.layers[0].attn
        assert torch.equal(copy.relative_position_bias_table,
                           table[:, :heads])
        assert torch.equal(copy.q_bias, q_bias[:8 * heads])
        assert set(static.state_dict()) == {
            k for k in model.architecture.state_dict() if 'mutable' not in k}
        # mmpretrain's attention applies its qkv weight by F.linear: its
        # multiply-adds count as the slimmable attention's qkv layer's.
        assert conv_linear_macs(
            static, lambda: static(inputs[:1], mode='tensor')
        ) == model.mutator.width_macs[width]
        assert_static_copy_matches(model, width, inputs, static)
    model.mutator.set_width(1.0)


def test_resnest_radix_runs_narrow_together():
    """The small ResNeSt (radix 2, one group): every split attention keeps
    the first channels of both radix runs of its convolution, its norm and
    its fc2 (4 to 16 of 16 in the first stage, 8 to 32 of 32 in the
    second),
    its fc1 reads the runs' sum, and the static copy's blocks are
    mmpretrain's split attentions of that many channels."""
    from mmpretrain.models.backbones.resnest import SplitAttentionConv2d
    model = built_family('ResNeSt')
    assert model.mutator.whole_layers == []
    backbone = model.architecture.backbone
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width in model.mutator.widths:
        model.mutator.set_width(width)
        static = model.static_architecture(width).backbone
        for stage, run in ((1, 16), (2, 32)):
            kept = int(run * width)
            mask = [True] * kept + [False] * (run - kept)
            for index, block in enumerate(getattr(backbone, f'layer{stage}')):
                attention = block.conv2
                for layer in (attention.conv, attention.fc2):
                    assert layer.get_mutable_attr(
                        'out_channels').current_mask.tolist() == mask * 2
                assert attention.fc1.get_mutable_attr(
                    'in_channels').current_mask.tolist() == mask
                copy = getattr(static, f'layer{stage}')[index].conv2
                assert type(copy) is SplitAttentionConv2d
                assert (copy.conv.out_channels, copy.fc1.in_channels,
                        copy.fc2.out_channels) == (2 * kept, kept, 2 * kept)
        assert_static_copy_matches(model, width, inputs)
    model.mutator.set_width(1.0)


def test_res2net_scales_narrow_together():
    """The small Res2Net (4 scales of 8 channels in its first stage, 16 in
    its second): every block's first convolution keeps the first channels
    of each of its 4 runs, each of its 3x3 convolutions reads and writes
    that many, its last convolution reads the 4 runs; the static copy's
    blocks are mmpretrain's of that width, and the copy is mmpretrain's
    Res2Net of base_width, base_channels and stem_channels times the
    width: its state loads into that classifier, which computes the
    same."""
    model = built_family('Res2Net')
    assert model.mutator.whole_layers == []
    backbone = model.architecture.backbone
    torch.manual_seed(1)
    with torch.no_grad():  # statistics of their own, the runs to differ
        for module in backbone.modules():
            for name in ('running_mean', 'running_var'):
                if isinstance(getattr(module, name, None), torch.Tensor):
                    getattr(module, name).uniform_(0.5, 1.5)
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width in model.mutator.widths:
        model.mutator.set_width(width)
        static = model.static_architecture(width)
        for stage, run in ((1, 8), (2, 16)):
            kept = int(run * width)
            mask = [True] * kept + [False] * (run - kept)
            for index, block in enumerate(getattr(backbone, f'layer{stage}')):
                assert block.width == kept
                assert block.conv1.get_mutable_attr(
                    'out_channels').current_mask.tolist() == mask * 4
                assert block.conv3.get_mutable_attr(
                    'in_channels').current_mask.tolist() == mask * 4
                for conv in block.convs:
                    for attr in ('in_channels', 'out_channels'):
                        assert conv.get_mutable_attr(
                            attr).current_mask.tolist() == mask
                copy = getattr(static.backbone, f'layer{stage}')[index]
                assert type(copy) is Bottle2neck and copy.width == kept
                assert copy.conv1.out_channels == 4 * kept
        narrower = MMPRETRAIN_MODELS.build(
            classifier(
                dict(type='Res2Net', depth=50, scales=4,
                     base_width=int(8 * width), num_stages=2,
                     strides=(1, 2), dilations=(1, 1), out_indices=(1, ),
                     stem_channels=int(16 * width),
                     base_channels=int(16 * width)), int(128 * width)))
        narrower.load_state_dict(static.state_dict())
        narrower.eval()
        assert_static_copy_matches(model, width, inputs, static)
        with torch.no_grad():
            assert torch.allclose(
                narrower(inputs, mode='tensor'),
                static(inputs, mode='tensor'), atol=1e-5), width
    model.mutator.set_width(1.0)


def test_rev_vit_halves_narrow_by_whole_heads_and_train():
    """A RevViT of 3 heads of 8 (24 features): its stream (the embedding
    twice) keeps whole heads, 1, 2, 2 and 3 of them (not a quarter of 24
    features, 6, at width 0.25), the first features of each half in the
    final norm and the head; the static copy is mmpretrain's RevViT of
    that embedding. Training runs the reversible backward (RevBackProp,
    which recomputes each layer's activations at the width): its gradients
    are plain autograd's at every width."""
    cfg = small_family('RevViT')
    cfg['backbone']['arch'] = dict(
        embed_dims=24, num_layers=2, num_heads=3, feedforward_channels=48)
    cfg['head']['in_channels'] = 48
    model = build(cfg)
    assert model.mutator.whole_layers == []
    backbone = model.architecture.backbone
    torch.manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.mul_(1 + 0.5 * torch.randn_like(param))
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width, heads in zip(model.mutator.widths, (1, 2, 2, 3)):
        model.mutator.set_width(width)
        kept = [True] * 8 * heads + [False] * 8 * (3 - heads)
        for layer in backbone.layers:
            assert layer.attn.active_heads() == heads
        assert backbone.ln1.get_mutable_attr(
            'num_features').current_mask.tolist() == kept * 2
        assert model.architecture.head.fc.get_mutable_attr(
            'in_channels').current_mask.tolist() == kept * 2
        model.eval()
        static = model.static_architecture(width)
        assert (static.backbone.embed_dims, static.backbone.ln1.weight.shape,
                static.head.fc.in_features) == (8 * heads, (16 * heads, ),
                                                16 * heads)
        assert_static_copy_matches(model, width, inputs, static)
        model.train()
        grads = []
        for plain in (False, True):
            backbone.no_custom_backward = plain
            model.zero_grad()
            model(inputs, mode='tensor').square().sum().backward()
            grads.append({
                name: param.grad.clone()
                for name, param in model.named_parameters()
                if param.grad is not None
            })
        backbone.no_custom_backward = False
        assert grads[0].keys() == grads[1].keys()
        for name, grad in grads[1].items():
            assert torch.allclose(grads[0][name], grad, atol=1e-5), name
    model.zero_grad()
    model.eval()
    model.mutator.set_width(1.0)


def test_hivit_attentions_and_stages_narrow_by_whole_heads():
    """The small HiViT (stages of 8, 16 and 32 features; its main stage's
    attentions 4 heads of 8): each attention keeps 1 to 4 whole heads (q, k
    and v spans of qkv) with their columns of the relative position bias
    table, the position embedding keeps the main stage's features, and the
    early MLP stages and patch merges narrow with the width; the static
    copy's attentions are mmpretrain's HiViT ``Attention`` of that many
    heads, and no layer is left whole."""
    from mmpretrain.models.backbones.hivit import Attention
    model = build(small_family('HiViT')).eval()
    assert model.mutator.whole_layers == []
    backbone = model.architecture.backbone
    main = [block for block in backbone.blocks if
            getattr(block, 'attn', None) is not None]
    assert len(main) == 7
    torch.manual_seed(1)
    with torch.no_grad():  # zeros at init: make the tables count
        for block in main:
            block.attn._parameters[
                'relative_position_bias_table'].normal_(0, 0.5)
        backbone._parameters['pos_embed'].normal_(0, 0.5)
    table = main[0].attn._parameters['relative_position_bias_table'].detach()
    pos_embed = backbone._parameters['pos_embed'].detach()
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width, heads in zip(model.mutator.widths, (1, 2, 3, 4)):
        model.mutator.set_width(width)
        assert main[0].attn.active_heads() == heads
        mask = main[0].attn.qkv.get_mutable_attr('out_channels').current_mask
        assert mask.tolist() == ([True] * 8 * heads +
                                 [False] * 8 * (4 - heads)) * 3
        assert backbone.pos_embed.shape == (1, 16, 8 * heads)
        static = model.static_architecture(width)
        blocks = static.backbone.blocks
        # Stages of 8 * width, 16 * width and 32 * width features.
        assert blocks[0].mlp.fc1.in_features == 8 * width
        assert blocks[2].reduction.in_features == 4 * 8 * width
        assert blocks[3].mlp.fc1.in_features == 16 * width
        assert blocks[5].reduction.out_features == 32 * width
        for block in blocks[6:]:
            assert type(block.attn) is Attention
            assert (block.attn.num_heads, block.attn.dim) == (heads,
                                                              8 * heads)
        assert torch.equal(blocks[6].attn.relative_position_bias_table,
                           table[:, :heads])
        assert torch.equal(static.backbone.pos_embed,
                           pos_embed[..., :8 * heads])
        assert set(static.state_dict()) == {
            k for k in model.architecture.state_dict() if 'mutable' not in k}
        assert conv_linear_macs(
            static, lambda: static(inputs[:1], mode='tensor')
        ) == model.mutator.width_macs[width]
        assert_static_copy_matches(model, width, inputs, static)
    model.mutator.set_width(1.0)


@pytest.mark.parametrize('with_cls_token, img_size', [(True, 32),
                                                       (False, 48)])
def test_eva02_attentions_narrow_by_whole_heads(with_cls_token, img_size):
    """The small EVA02 (32 features, 4 heads of 8, a rotary embedding of
    q and k, SwiGLU FFNs of 64 hidden features with a LayerNorm over
    them): no layer is left whole; each attention keeps 1 to 4 whole heads
    (q, k and v spans of qkv, each head all its 8 dims: the rotation pairs
    them), the stream, class token and position embedding 8 features a
    head, each FFN 16 to 64 hidden features in both halves of w12; the
    static copy's attentions are mmpretrain's ``AttentionWithRoPE`` of
    that many heads, its rotary tables those of the resolution its config
    builds (a 6x6 grid of patches at ``img_size`` 48, where the 32x32
    input's 4x4 grid is what mmpretrain's rotary embedding last computed),
    and it computes what the slimmable network does."""
    from mmpretrain.models.backbones.vit_eva02 import AttentionWithRoPE
    cfg = small_family('EVA02')
    cfg['backbone'].update(with_cls_token=with_cls_token, img_size=img_size)
    model = build(cfg).eval()
    assert model.mutator.whole_layers == []
    backbone = model.architecture.backbone
    torch.manual_seed(1)
    with torch.no_grad():  # weights unlike their initialisation
        for param in model.architecture.parameters():
            param.mul_(1 + 0.5 * torch.randn(param.shape))
    layer = backbone.layers[0]
    inputs = torch.rand(2, 3, SIZE, SIZE)

    def mask(module, attr):
        return module.get_mutable_attr(attr).current_mask.tolist()

    for width, heads in zip(model.mutator.widths, (1, 2, 3, 4)):
        model.mutator.set_width(width)
        hidden = int(64 * width)
        assert layer.attn.active_heads() == heads
        assert mask(layer.attn.qkv, 'out_channels') == (
            [True] * 8 * heads + [False] * 8 * (4 - heads)) * 3
        assert mask(layer.attn.qkv, 'in_channels') == mask(
            backbone.patch_embed.projection, 'out_channels') == (
                [True] * 8 * heads + [False] * 8 * (4 - heads))
        assert backbone.pos_embed.shape[-1] == 8 * heads
        assert mask(layer.mlp.w12, 'out_channels') == (
            [True] * hidden + [False] * (64 - hidden)) * 2
        assert sum(mask(layer.mlp.norm, 'num_features')) == hidden
        static = model.static_architecture(width)
        for static_layer in static.backbone.layers:
            assert type(static_layer.attn) is AttentionWithRoPE
            assert (static_layer.attn.num_heads,
                    static_layer.attn.head_dims) == (heads, 8)
        rope = static.backbone.rope
        assert rope.freqs_cos.shape == rope.freqs_sin.shape == (
            (img_size // 8)**2, 8)
        assert set(static.state_dict()) == {
            k for k in model.architecture.state_dict() if 'mutable' not in k}
        assert_static_copy_matches(model, width, inputs, static)
    model.mutator.set_width(1.0)


def _runs(count, kept, groups=4):
    """The first ``kept`` channels of each of ``groups`` runs of
    ``count``."""
    size = count // groups
    return torch.cat(
        [torch.arange(kept) + group * size for group in range(groups)])


def _sliced_conv(conv, out, inputs):
    """``conv`` (1x1) of outputs ``out``, reading inputs ``inputs`` of each
    group."""
    sliced = torch.nn.Conv2d(len(inputs) * conv.groups, len(out), 1,
                             groups=conv.groups)
    sliced.weight.data = conv.weight[out][:, inputs].clone()
    sliced.bias.data = conv.bias[out].clone()
    return sliced


@pytest.mark.parametrize('name,path,nodes', [
    ('ViG', 'backbone.blocks.1.0', 4),
    ('PViG', 'backbone.stages.0.0.0', 8),
])
def test_vig_graph_convs_narrow_by_their_groups(name, path, nodes):
    """A Grapher's node features (``fc1``'s outputs) narrow by the first
    channels of each of the four runs its grouped graph convolution reads
    as interleaved pairs (node, largest difference from its neighbours),
    its graph convolution's outputs by their four groups, ``fc2`` back to
    the stream's first channels. The static Grapher of each width is
    mmpretrain's Grapher with the whole's convolutions at those channels
    and finds its k-NN graph by the narrowed features: it computes what a
    Grapher narrowed by hand does, and what the slimmable one does."""
    model = build(small_family(name)).eval()
    assert model.mutator.whole_layers == []
    torch.manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.mul_(1 + 0.5 * torch.randn_like(param))
    whole = model.static_architecture(1.0).get_submodule(path)
    grapher = model.architecture.get_submodule(path)
    channels = whole.channels
    inputs = torch.rand(2, 3, SIZE, SIZE)
    for width in model.mutator.widths:
        model.mutator.set_width(width)
        kept = round(width * channels)
        node = _runs(channels, round(width * channels / 4))
        out = _runs(2 * channels, round(width * channels / 2))
        fc1_out = grapher.fc1[0].get_mutable_attr('out_channels').current_mask
        assert fc1_out.nonzero().flatten().tolist() == node.tolist()
        conv = grapher.graph_conv.gconv.nn[0]
        assert torch.equal(
            conv.get_mutable_attr('in_channels').current_mask,
            fc1_out.repeat_interleave(2))
        assert conv.get_mutable_attr('out_channels').current_mask.nonzero(
        ).flatten().tolist() == out.tolist()
        static = model.static_architecture(width)
        narrow = static.get_submodule(path)
        by_hand = copy.deepcopy(narrow)
        stream = torch.arange(kept)
        pairs = torch.stack([2 * node, 2 * node + 1], 1).flatten()
        by_hand.fc1[0] = _sliced_conv(whole.fc1[0], node, stream)
        by_hand.graph_conv.gconv.nn[0] = _sliced_conv(
            whole.graph_conv.gconv.nn[0], out,
            pairs[pairs < 2 * channels // 4])
        by_hand.fc2[0] = _sliced_conv(whole.fc2[0], stream, out)
        x = torch.randn(2, kept, nodes, nodes)
        with torch.no_grad():
            expected = by_hand(x)
            assert torch.allclose(narrow(x), expected, atol=1e-5), width
            assert torch.allclose(grapher(x), expected, atol=1e-5), width
        assert_static_copy_matches(model, width, inputs, static)
    model.mutator.set_width(1.0)
