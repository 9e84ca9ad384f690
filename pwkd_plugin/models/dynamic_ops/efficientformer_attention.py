"""EfficientFormer's attention over the heads active at a width."""
from mmpretrain.models.backbones.efficientformer import AttentionWithBias
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .head_major_attention import HeadMajorAttentionMixin


@MODELS.register_module()
class SlimmableAttentionWithBias(HeadMajorAttentionMixin, AttentionWithBias,
                                 DynamicChannelMixin):
    """EfficientFormer's ``AttentionWithBias`` narrowed by whole heads
    (:class:`~.head_major_attention.HeadMajorAttentionMixin`): each head
    keeps its ``key_dim`` and value size ``d`` and its attention biases."""

    @property
    def static_op_factory(self):
        return AttentionWithBias

    def to_static_op(self) -> AttentionWithBias:
        """The attention itself as mmpretrain's, at the active heads."""
        heads = self.active_heads()
        layers = self.static_layers()
        self.to_static_class(AttentionWithBias)
        for name, layer in layers.items():
            setattr(self, name, layer)
        self.num_heads = heads
        self.nh_kd = heads * self.key_dim
        self.dh = heads * self.d
        if hasattr(self, 'ab'):
            self.ab = self.attention_biases[:, self.attention_bias_idxs]
        return self
