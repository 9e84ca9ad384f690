"""MViTv2's attention pools each head through layers the heads share: the
tracer binds every head's span of q, k and v, the poolings and proj's
inputs into one unit of one head's dims."""
import pytest
import torch
import torch.nn as nn
from mmpretrain.models.backbones.mvit import MultiScaleAttention

from pwkd_plugin.models.dynamic_ops import (FORWARD_OPS,
                                            SlimmableMultiScaleAttention)
from pwkd_plugin.models.mutators import teacher_channel_analyzer

from .test_shape_constants import traced_channels


class PooledAttention(nn.Module):
    """A conv stem into 8x8 tokens of 16 channels, MViTv2's attention of
    two heads of 16 (q, k and v pooled by 2, relative position tables),
    a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.attn = MultiScaleAttention(
            16, 32, num_heads=2, stride_q=2, stride_kv=2,
            rel_pos_spatial=True, input_size=(8, 8))
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.stem(x)
        x, _ = self.attn(x.flatten(2).transpose(1, 2), x.shape[-2:])
        return self.fc(x.mean(1))


def _slimmable(model):
    for module in model.modules():
        if type(module) in FORWARD_OPS:
            FORWARD_OPS[type(module)].convert_from(module)
    return model


def _head_unit(units):
    return [unit for unit in units if ('attn.pool_q', True) in unit]


def test_heads_pooled_by_shared_layers_are_one_unit_of_head_dims():
    units = _head_unit(traced_channels(_slimmable(PooledAttention())))
    assert len(units) == 1
    unit = units[0]
    # q, k and v of both heads: six spans of 16 of qkv's 96 outputs.
    for start in range(0, 96, 16):
        assert ('attn.qkv', True, (start, start + 16)) in unit
    for head in range(2):
        assert ('attn.proj', False, (16 * head, 16 * head + 16)) in unit
    for layer in ('pool_q', 'pool_k', 'pool_v', 'norm_q', 'norm_k',
                  'norm_v'):
        assert (f'attn.{layer}', True, (0, 16)) in unit
    # The stream is a unit of its own.
    assert ('attn.qkv', False) not in unit and ('attn.proj', True) not in unit


def test_without_the_rule_the_heads_are_lost(monkeypatch):
    monkeypatch.setattr(teacher_channel_analyzer, 'pooled_head_nodes',
                        lambda *args: {})
    units = traced_channels(_slimmable(PooledAttention()))
    # No unit holds q, k and v as spans of one head's dims (with the equal
    # runs rule, qkv's 96 outputs may share a unit with the poolings' 16,
    # which narrows them as runs, not as heads).
    assert not any(
        all(('attn.qkv', True, (start, start + 16)) in unit
            for start in range(0, 96, 16)) for unit in units)


@pytest.mark.parametrize('rel_pos', [True, False])
def test_the_slimmable_attention_computes_mmpretrains(rel_pos):
    torch.manual_seed(0)
    whole = MultiScaleAttention(16, 32, num_heads=2, stride_q=2,
                                stride_kv=2, rel_pos_spatial=rel_pos,
                                input_size=(8, 8))
    if rel_pos:
        whole.rel_pos_h.data.normal_(0, 0.5)
        whole.rel_pos_w.data.normal_(0, 0.5)
    tokens = torch.rand(2, 64, 16)
    expected, size = whole(tokens, (8, 8))
    slim = SlimmableMultiScaleAttention.convert_from(whole)
    got, got_size = slim(tokens, (8, 8))
    assert tuple(got_size) == tuple(size) == (4, 4)
    assert torch.allclose(got, expected, atol=1e-6)
