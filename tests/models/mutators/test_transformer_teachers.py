"""Vision transformers (ViT, DeiT, Swin) as slimmable teachers.

Width for a transformer is its embedding, its number of heads (each keeps
its head_dims) and its MLP hidden size, at the same depth. At every width
of the small members (32x32, patch 4, depth 2, embed 32 in 4 heads of 8)
the static copy has the width's embed dims, heads and hidden sizes, its
tokens and position embedding are sliced with the embedding (Swin: every
stage in the first stage's ratio, the relative position bias by heads, the
patch merging four times the channels), it computes
what the slimmable network computes (sliced and private LayerNorms alike),
every width trains a step, width 0.25 keeps at most 0.25 of the FLOPs, and
an ordinary mmpretrain config of the same family reproduces each width.
"""
import functools
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

from pwkd_plugin.export import export_width
from pwkd_plugin.models.dynamic_ops import (SlimmableLayerNorm,
                                            SwitchableLayerNorm)
from pwkd_plugin.models.mutators.transformer_units import slim_heads
from pwkd_plugin.models.utils.conv_linear_macs import conv_linear_macs
from pwkd_plugin.testing.transformer_families import (SMALL_TRANSFORMERS,
                                                      attention_macs,
                                                      small_transformer)

SIZE = 32
FAMILIES = list(SMALL_TRANSFORMERS)
TOKEN_FAMILIES = ['ViT', 'DeiT', 'DeiT3']
#: width -> (heads, embed dims, MLP hidden) of the small members.
EXPECTED = {0.25: (1, 8, 16), 0.5: (2, 16, 32), 0.75: (3, 24, 48),
            1.0: (4, 32, 64)}


def teacher_cfg(name, layer_norms='sliced'):
    return dict(
        type='SlimmableTeacher',
        architecture=dict(small_transformer(name), _scope_='mmpretrain'),
        mutator=dict(
            type='SlimmableTeacherMutator',
            layer_norms=layer_norms,
            parse_cfg=dict(
                type='ChannelAnalyzer',
                demo_input=(1, 3, SIZE, SIZE),
                tracer_type='FxTracer')))


@functools.lru_cache(maxsize=None)
def built(name, layer_norms='sliced'):
    """A slimmable teacher with random weights everywhere (tokens, position
    embedding and private LayerNorms included), built once."""
    torch.manual_seed(0)
    model = MODELS.build(teacher_cfg(name, layer_norms))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.2)
    return model.eval()


def inputs():
    return torch.rand(2, 3, SIZE, SIZE,
                      generator=torch.Generator().manual_seed(0))


def cost(model, x):
    run = lambda: model(x, mode='tensor')  # noqa: E731
    linear = conv_linear_macs(model, run, len(x))
    return linear, linear + attention_macs(model, run, len(x))


@pytest.mark.parametrize('name', TOKEN_FAMILIES)
def test_every_width_has_its_embed_dims_heads_and_hidden(name):
    model = built(name)
    assert model.mutator.whole_layers == []
    for width, (heads, embed, hidden) in EXPECTED.items():
        static = model.static_architecture(width)
        backbone = static.backbone
        assert type(backbone) is \
            model.architecture.backbone.static_op_factory
        assert backbone.embed_dims == embed
        assert backbone.patch_embed.projection.out_channels == embed
        assert backbone.pos_embed.shape[-1] == embed
        assert backbone.cls_token.shape == (1, 1, embed)
        if name == 'DeiT':
            assert backbone.dist_token.shape == (1, 1, embed)
            assert static.head.layers.head_dist.in_features == embed
        for layer in backbone.layers:
            assert type(layer.attn).__name__ == 'MultiheadAttention'
            assert (layer.attn.num_heads, layer.attn.head_dims) == (heads, 8)
            assert layer.attn.qkv.weight.shape == (3 * embed, embed)
            assert layer.attn.proj.weight.shape == (embed, embed)
            assert layer.ln1.normalized_shape == (embed, )
            assert layer.ffn.layers[0][0].weight.shape == (hidden, embed)
            assert layer.ffn.layers[1].weight.shape == (embed, hidden)
        assert backbone.ln1.normalized_shape == (embed, )
        assert static.head.layers.head.in_features == embed


def test_swin_stages_keep_the_first_stage_ratio():
    """Two stages (32 then 64 channels after the patch merging), heads of
    8: every stage at width w keeps the first stage's share, its FFNs four
    times that, its merge four times the channels."""
    model = built('Swin')
    assert model.mutator.whole_layers == []
    for width, (heads, embed, _) in EXPECTED.items():
        static = model.static_architecture(width)
        backbone = static.backbone
        assert type(backbone).__name__ == 'SwinTransformer'
        assert backbone.patch_embed.projection.out_channels == embed
        assert backbone.num_features[1] == 2 * embed
        for index, stage in enumerate(backbone.stages):
            channels = embed * 2**index
            for block in stage.blocks:
                msa = block.attn.w_msa
                assert type(msa).__name__ == 'WindowMSA'
                assert (msa.num_heads, msa.embed_dims) == (
                    heads * 2**index, channels)
                assert msa.relative_position_bias_table.shape[1] == \
                    heads * 2**index
                assert block.norm1.normalized_shape == (channels, )
                assert block.ffn.layers[0][0].out_features == 4 * channels
        merge = backbone.stages[0].downsample
        assert merge.norm.normalized_shape == (4 * embed, )
        assert merge.reduction.weight.shape == (2 * embed, 4 * embed)
        assert static.head.fc.in_features == 2 * embed


@pytest.mark.parametrize('name', FAMILIES)
def test_width_quarter_keeps_a_quarter_of_the_flops(name):
    """Counted both as conv + linear multiply-adds (the mutator's figure)
    and with the attentions' two matrix products added."""
    model = built(name)
    x = inputs()
    whole = cost(model.static_architecture(1.0), x)
    quarter = cost(model.static_architecture(0.25), x)
    assert quarter[0] <= 0.25 * whole[0], quarter[0] / whole[0]
    assert quarter[1] <= 0.25 * whole[1], quarter[1] / whole[1]
    ratio = model.mutator.width_macs[0.25] / model.mutator.width_macs[1.0]
    assert abs(ratio - quarter[0] / whole[0]) < 1e-6


@pytest.mark.parametrize('name,layer_norms', [
    ('ViT', 'sliced'), ('ViT', 'private'), ('DeiT', 'sliced'),
    ('DeiT', 'private'), ('DeiT3', 'sliced'), ('Swin', 'sliced')])
def test_static_copy_computes_the_slimmable_network(name, layer_norms):
    model = built(name, layer_norms)
    norms = [m for m in model.modules() if isinstance(m, SlimmableLayerNorm)]
    assert norms and all(
        isinstance(m, SwitchableLayerNorm) == (layer_norms == 'private')
        for m in norms)
    x = inputs()
    outputs = []
    for width in model.mutator.widths:
        static = model.static_architecture(width)
        model.mutator.set_width(width)
        with torch.no_grad():
            expected = model(x, mode='tensor')
            assert torch.allclose(
                static(x, mode='tensor'), expected, atol=1e-5), width
        outputs.append(expected)
    model.mutator.set_width(1.0)
    # The widths are different networks.
    assert not torch.allclose(outputs[0], outputs[-1], atol=1e-3)


def test_private_layer_norms_hold_their_own_parameters():
    model = built('ViT', 'private')
    norm = model.architecture.backbone.layers[0].ln1
    assert sorted(int(k) for k in norm.candidate_ln) == [8, 16, 24]
    model.mutator.set_width(0.5)
    weight, _ = norm.affine_params()
    assert weight is norm.candidate_ln['16'].weight
    model.mutator.set_width(1.0)
    assert norm.affine_params()[0].shape == (32, )


# Swin trains at every width in tests/integration/test_transformer_teachers.py
@pytest.mark.parametrize('name', TOKEN_FAMILIES)
def test_every_width_trains_a_step(name):
    torch.manual_seed(0)
    model = MODELS.build(teacher_cfg(name))
    model.init_weights()
    model.train()
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    # What a Runner tells the optimizer wrapper: a one-iteration run.
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    hub.update_info('max_iters', 1)
    data = dict(
        inputs=[torch.randint(0, 255, (3, SIZE, SIZE), dtype=torch.uint8)
                for _ in range(4)],
        data_samples=[DataSample().set_gt_label(i) for i in range(4)])
    first = model.architecture.backbone.patch_embed.projection.weight
    before = first.detach().clone()
    losses = model.train_step(data, optim)
    for width in model.mutator.widths:
        loss = losses[f'width_{width:g}.loss']
        assert torch.isfinite(loss), width
    assert not torch.equal(before, first)


def test_heads_are_whole_and_rounded_alike():
    # DeiT-tiny: 3 heads of 64. 0.5 and 0.75 both round to 2 heads.
    assert [slim_heads(3, 64, w) for w in (0.25, 0.5, 0.75, 1.0)] == \
        [1, 2, 2, 3]
    # ViT-B: 12 heads of 64.
    assert [slim_heads(12, 64, w) for w in (0.25, 0.5, 0.75, 1.0)] == \
        [3, 6, 9, 12]
    # heads * head_dims a multiple of the divisor, at least min_channels.
    assert slim_heads(4, 8, 0.25, divisor=16) == 2
    assert slim_heads(4, 8, 0.25, min_channels=20) == 3


@pytest.mark.parametrize('name', FAMILIES)
def test_every_width_exports_as_an_ordinary_config(name, tmp_path):
    model = built(name)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    cfg = str(tmp_path / f'slimmable_{name.lower()}.py')
    Config(dict(model=teacher_cfg(name))).dump(cfg)
    x = torch.randn(2, 3, SIZE, SIZE,
                    generator=torch.Generator().manual_seed(0))
    # Swin's forward is slow on 2 cores: two of its widths (the ViTs: all).
    widths = (0.25, 0.75) if name == 'Swin' else tuple(EXPECTED)
    for width in widths:
        heads, embed, hidden = EXPECTED[width]
        result = export_width(cfg, ckpt, width, str(tmp_path / 'out'))
        exported = Config.fromfile(result['config'])
        arch = exported.model.backbone.arch
        if name == 'Swin':
            assert (arch.embed_dims, arch.num_heads) == (
                embed, [heads, 2 * heads])
            assert exported.model.head.in_channels == 2 * embed
        else:
            assert (arch.embed_dims, arch.num_heads,
                    arch.feedforward_channels, arch.num_layers) == (
                        embed, heads, hidden, 2)
            assert exported.model.head.in_channels == embed
        plain = MMPRETRAIN_MODELS.build(exported.model)
        load_checkpoint(plain, result['checkpoint'], map_location='cpu',
                        strict=True, logger='silent')
        plain.eval()
        model.mutator.set_width(width)
        with torch.no_grad():
            assert torch.allclose(
                plain(x, mode='tensor'), model(x, mode='tensor'),
                atol=1e-5), width
        assert osp.isfile(result['checkpoint'])
    model.mutator.set_width(1.0)
