"""MViTv2's multi-scale attention over the head dims active at a width."""
from typing import Optional, Sequence

import torch
from mmpretrain.models.backbones.mvit import (MultiScaleAttention,
                                              add_decomposed_rel_pos)
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


def heads_to_maps(x: torch.Tensor, num_heads: int,
                  size: Sequence[int]) -> torch.Tensor:
    """Tokens of ``num_heads`` heads side by side, ``(B, H * W, heads *
    C)``, as one map per head, ``(B * heads, C, H, W)`` (the heads folded
    into the batch, as mmpretrain's ``attention_pool``)."""
    batch, tokens, features = x.shape
    return x.reshape(batch, tokens, num_heads,
                     features // num_heads).permute(0, 2, 3, 1).reshape(
                         batch * num_heads, features // num_heads, *size)


def pooled_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     num_heads: int, q_shape: Sequence[int],
                     k_shape: Sequence[int],
                     rel_pos_h: Optional[torch.Tensor],
                     rel_pos_w: Optional[torch.Tensor],
                     residual_pooling: bool) -> torch.Tensor:
    """mmpretrain's multi-scale attention of pooled q, k and v.

    Args:
        q, k, v (Tensor): ``(B * heads, N, C)``, the heads in the batch.
        num_heads (int): The heads.
        q_shape, k_shape (Sequence[int]): The pooled maps' sizes.
        rel_pos_h, rel_pos_w (Tensor, optional): Relative position tables
            of the whole head dims; their first ``C`` are used.
        residual_pooling (bool): Whether q is added to the output.

    Returns:
        Tensor: ``(B, N, heads * C)``, the heads side by side.
    """
    features = q.shape[-1]
    q, k, v = (t.reshape(-1, num_heads, t.shape[1], features)
               for t in (q, k, v))
    attn = (q * features**-0.5) @ k.transpose(-2, -1)
    if rel_pos_h is not None:
        attn = add_decomposed_rel_pos(attn, q, q_shape, k_shape,
                                      rel_pos_h[:, :features],
                                      rel_pos_w[:, :features])
    x = attn.softmax(dim=-1) @ v
    if residual_pooling:
        x = x + q
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2],
                                     num_heads * features)


# Nodes of the traced graph the channel tracer reads as binding each head's
# channels to the pooling's (:mod:`pwkd_plugin.models.mutators.pooled_heads`).
torch.fx.wrap('heads_to_maps')
torch.fx.wrap('pooled_attention')


@MODELS.register_module()
class SlimmableMultiScaleAttention(InPlaceSlimmableMixin,
                                   MultiScaleAttention, DynamicChannelMixin):
    """MViTv2's attention whose head dims follow the width.

    mmpretrain's forward unbinds q, k and v from ``qkv`` reshaped into
    heads and pools each with its heads folded into the batch, through a
    depthwise convolution and a LayerNorm of one head's dims shared by
    every head; the channel tracer follows neither. Here q, k and v are
    split from ``qkv``'s output by the active features
    (``splits_by_width``), folded (:func:`heads_to_maps`) and attended
    (:func:`pooled_attention`) in nodes the tracer reads as binding each
    head's channels to the pooling's: every head keeps the same active
    head dims (the first of each), with the poolings, their norms and the
    relative position tables; the head count stays the whole network's
    (MViTv2-T's first stage has one head) and q is scaled by the active
    head dims, as mmpretrain's attention of that many (so an MViT of
    narrower ``embed_dims`` is the static copy). :meth:`to_static_op`
    gives mmpretrain's attention at those head dims.
    """

    #: q, k and v are split from ``qkv``'s output by the active features.
    splits_by_width = True

    @property
    def num_features(self) -> int:
        return self.out_dims

    @property
    def static_op_factory(self):
        return MultiScaleAttention

    def forward(self, x: torch.Tensor, in_size):
        qkv = self.qkv(x).chunk(3, dim=-1)
        pools = ((self.pool_q, self.norm_q), (self.pool_k, self.norm_k),
                 (self.pool_v, self.norm_v))
        pooled, sizes = [], []
        # Pieces by index: torch.fx cannot iterate a traced split.
        for part, (pool, norm) in enumerate(pools):
            maps = pool(heads_to_maps(qkv[part], self.num_heads, in_size))
            sizes.append(maps.shape[-2:])
            pooled.append(norm(maps.flatten(2).transpose(1, 2)))
        rel_pos = (self.rel_pos_h, self.rel_pos_w) \
            if self.rel_pos_spatial else (None, None)
        x = pooled_attention(pooled[0], pooled[1], pooled[2], self.num_heads,
                             sizes[0], sizes[1], *rel_pos,
                             self.residual_pooling)
        return self.proj(x), sizes[0]

    def active_head_dims(self) -> int:
        """The features of a head active at the width (``qkv`` keeps them
        for q, k and v of every head)."""
        mutable = self.qkv.get_mutable_attr('out_channels') if hasattr(
            self.qkv, 'get_mutable_attr') else None
        features = self.qkv.out_features if mutable is None else int(
            mutable.current_mask.sum())
        return features // (3 * self.num_heads)

    def to_static_op(self) -> MultiScaleAttention:
        """mmpretrain's attention at the active head dims."""
        dims = self.active_head_dims()
        self.to_static_class(MultiScaleAttention)
        self.out_dims = dims * self.num_heads
        self.scale = dims**-0.5
        if self.rel_pos_spatial:
            for name in ('rel_pos_h', 'rel_pos_w'):
                table = getattr(self, name)
                setattr(self, name,
                        torch.nn.Parameter(table.detach()[:, :dims].clone()))
        return self
