"""TinyViT's attention (mmpretrain's ``LeAttention``) over the heads active
at a width."""
from mmpretrain.models.utils.attention import LeAttention
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .head_major_attention import HeadMajorAttentionMixin


@MODELS.register_module()
class SlimmableLeAttention(HeadMajorAttentionMixin, LeAttention,
                           DynamicChannelMixin):
    """mmpretrain's ``LeAttention`` (TinyViT's window attention) narrowed by
    whole heads (:class:`~.head_major_attention.HeadMajorAttentionMixin`):
    each head keeps its ``key_dim``, its value size ``d`` and its attention
    biases; its LayerNorm takes the embedding's active channels."""

    @property
    def static_op_factory(self):
        return LeAttention

    def to_static_op(self) -> LeAttention:
        """The attention itself as mmpretrain's, at the active heads."""
        heads = self.active_heads()
        layers = self.static_layers()
        self.to_static_class(LeAttention)
        for name, layer in layers.items():
            setattr(self, name, layer)
        self.num_heads = heads
        self.nh_kd = heads * self.key_dim
        self.dh = heads * self.d
        if hasattr(self, 'ab'):
            self.ab = self.attention_biases[:, self.attention_bias_idxs]
        return self
