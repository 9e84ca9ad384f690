"""EfficientFormer's attention, narrowing by whole heads."""
import torch
from mmpretrain.models.backbones.efficientformer import AttentionWithBias
from mmrazor.models.architectures.dynamic_ops import DynamicChannelMixin
from mmrazor.registry import MODELS

from .heads_by_layers import HeadsByLayersMixin


@MODELS.register_module()
class SlimmableAttentionWithBias(HeadsByLayersMixin, AttentionWithBias,
                                 DynamicChannelMixin):
    """EfficientFormer's ``AttentionWithBias`` narrowing by whole heads, as
    LeViT's (:class:`~.heads_by_layers.HeadsByLayersMixin`): ``qkv`` gives
    each head its query, key and value side by side, so the first heads
    are the first channels of ``qkv`` (and of ``proj``'s input); every
    head keeps ``key_dim`` and ``d`` and its own row of
    ``attention_biases``."""

    layout = ('qkv', )
    projections = ('qkv', )

    @property
    def static_op_factory(self):
        return AttentionWithBias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.core(self.qkv(x), self.biases()))
