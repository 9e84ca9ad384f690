"""Attention over head-major projections, with a learned bias per head.

LeViT's, EfficientFormer's and TinyViT's attentions project the tokens
into one tensor per head (``qkv.view(B, N, num_heads, -1).split([key_dim,
key_dim, d])``: head ``h`` holds its query, key and value side by side),
add a learned bias per head and pair of positions, and give ``num_heads *
d`` features. Narrowed by whole heads, the first ``n`` heads are the first ``n
* (2 * key_dim + d)`` channels of the projection and the first ``n * d`` of
the output: a slimmable version keeps the projection layers as they are
(their units slice them) and runs this core, which reads the head count
from its inputs.

The channel tracer keeps the core one node of its graph
(:mod:`~pwkd_plugin.models.mutators.head_channels`): its inputs and its
output are channels of their own units, which narrow by whole heads
(:mod:`.heads_by_layers`).
"""
from typing import Dict, Sequence

import torch
import torch.nn as nn
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.models.mutables.base_mutable import BaseMutable


class HeadAttention(nn.Module, DynamicChannelMixin):
    """Scaled dot-product attention of head-major queries, keys and values,
    plus a bias per head.

    Args:
        num_heads (int): Heads of the whole attention.
        key_dims (int): Features of a head's query and key.
        value_dims (int): Features of a head's value (``d``).
        layout (Sequence[str]): The parts each input holds per head, in
            order: ``('qkv', )`` for one projection of queries, keys and
            values (LeViT's ``Attention``), ``('kv',
            'q')`` for keys and values then queries of their own (LeViT's
            ``AttentionSubsample``).
        scale (float): The factor of the query-key products.

    The forward takes the inputs of ``layout`` (``(B, N_i, heads * size)``,
    ``size`` the per-head features of the input's parts), then the bias
    of every head (``(num_heads, N_q, N_k)``, its first ``heads`` are
    used), and gives ``(B, N_q, heads * value_dims)``.

    It is a dynamic op of the channel units of its first input and its
    output (mmrazor keeps a unit only where a dynamic op reads and one
    writes its channels), holding no parameter of its own: its slimmable
    owner drops it when it becomes the static module.
    """
    accepted_mutable_attrs = {'in_channels', 'out_channels'}

    def __init__(self, num_heads: int, key_dims: int, value_dims: int,
                 layout: Sequence[str], scale: float) -> None:
        super().__init__()
        if sorted(''.join(layout)) != ['k', 'q', 'v']:
            raise ValueError(f'layout {layout!r} must hold q, k and v once')
        self.num_heads = num_heads
        self.key_dims = key_dims
        self.value_dims = value_dims
        self.layout = tuple(layout)
        self.scale = scale
        self.mutable_attrs = nn.ModuleDict()

    def part_dims(self, part: str) -> int:
        """Features of one head of ``part`` (``'q'``, ``'k'`` or ``'v'``)."""
        return self.value_dims if part == 'v' else self.key_dims

    def head_dims(self) -> Dict[int, int]:
        """Features of one head in each input: ``{index: features}``."""
        return {
            index: sum(self.part_dims(part) for part in parts)
            for index, parts in enumerate(self.layout)
        }

    @property
    def in_channels(self) -> int:
        """Features of the whole attention's first input."""
        return self.num_heads * self.head_dims()[0]

    @property
    def out_channels(self) -> int:
        """Output features of the whole attention."""
        return self.num_heads * self.value_dims

    def register_mutable_attr(self, attr: str, mutable: BaseMutable) -> None:
        self.check_mutable_attr_valid(attr)
        if attr not in self.mutable_attrs:
            self.check_mutable_channels(mutable)
            self.mutable_attrs[attr] = mutable

    @classmethod
    def convert_from(cls, module: 'HeadAttention') -> 'HeadAttention':
        return module

    @property
    def static_op_factory(self):
        return HeadAttention

    def to_static_op(self) -> 'HeadAttention':
        return self

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        *projections, bias = inputs
        parts = {}
        for projection, layout in zip(projections, self.layout):
            batch, tokens, channels = projection.shape
            dims = [self.part_dims(part) for part in layout]
            heads = channels // sum(dims)
            pieces = projection.view(batch, tokens, heads, -1).split(dims,
                                                                    dim=3)
            for part, piece in zip(layout, pieces):
                parts[part] = piece.permute(0, 2, 1, 3)
        q, k, v = parts['q'], parts['k'], parts['v']
        heads = q.shape[1]
        attn = (q @ k.transpose(-2, -1)) * self.scale + bias[:heads]
        attn = attn.softmax(dim=-1)
        return (attn @ v).transpose(1, 2).reshape(q.shape[0], q.shape[2],
                                                  heads * self.value_dims)
