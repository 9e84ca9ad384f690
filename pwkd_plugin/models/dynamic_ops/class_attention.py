"""Class attention (CaiT's, XCiT's last layers) over the heads active at a
width.

Only the class token queries: ``q`` reads it, ``k`` and ``v`` every token.
mmpretrain's forward splits q, k and v into ``num_heads`` heads of
``C // num_heads``, ``C`` the input's channels; here the heads keep their
``head_dims`` and their count is read from ``q``'s active outputs.
"""
import torch
import torch.nn as nn
from mmpretrain.models.backbones.xcit import ClassAttntion
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .in_place import InPlaceSlimmableMixin


def _active_out_features(layer: nn.Linear) -> int:
    mutable = layer.get_mutable_attr('out_channels') if hasattr(
        layer, 'get_mutable_attr') else None
    if mutable is None:
        return layer.out_features
    return int(mutable.current_mask.sum())


@MODELS.register_module()
class SlimmableClassAttention(InPlaceSlimmableMixin, ClassAttntion,
                              DynamicChannelMixin):
    """mmpretrain's ``ClassAttntion`` over the heads active at a width.

    Swapped in before tracing (see ``FORWARD_OPS``); it holds no mutable:
    the tracer binds ``q``, ``k`` and ``v``'s outputs and ``proj``'s inputs
    channel by channel (their products), one unit of whole heads
    (``num_heads`` of ``head_dims``, :mod:`~..mutators.head_channels`).
    Its static copy is mmpretrain's attention of the active heads, whose
    head dims are its input's channels over its heads: the tracer binds the
    input to the heads (``heads_follow_input``).
    """

    #: the layer whose inputs are the attention's input.
    heads_follow_input = 'q'

    @property
    def head_dims(self) -> int:
        return self.proj.in_features // self.num_heads

    @property
    def static_op_factory(self):
        return ClassAttntion

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens = x.shape[0], x.shape[1]
        dims = self.head_dims
        heads = _active_out_features(self.q) // dims
        q = self.q(x[:, 0]).reshape(batch, 1, heads, dims).permute(0, 2, 1, 3)
        k = self.k(x).reshape(batch, tokens, heads, dims).permute(0, 2, 1, 3)
        v = self.v(x).reshape(batch, tokens, heads, dims).permute(0, 2, 1, 3)
        attn = self.attn_drop(((q * self.scale) @ k.transpose(-2, -1)).softmax(
            dim=-1))
        x_cls = (attn @ v).transpose(1, 2).reshape(batch, 1, heads * dims)
        return self.proj_drop(self.proj(x_cls))

    def to_static_op(self) -> nn.Module:
        """The attention itself as mmpretrain's, at the active heads."""
        heads = _active_out_features(self.q) // self.head_dims
        self.to_static_class(ClassAttntion)
        self.num_heads = heads
        return self
